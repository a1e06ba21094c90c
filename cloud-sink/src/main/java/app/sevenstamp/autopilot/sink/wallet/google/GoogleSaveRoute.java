package app.sevenstamp.autopilot.sink.wallet.google;

import app.sevenstamp.autopilot.protocol.card.CardCode;
import app.sevenstamp.autopilot.sink.web.Access;
import app.sevenstamp.autopilot.sink.web.Exchange;
import app.sevenstamp.autopilot.sink.web.Problem;
import app.sevenstamp.autopilot.sink.web.Router;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.util.Base64;
import java.util.Objects;
import java.util.Optional;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;
import org.tinylog.Logger;

/**
 * {@code GET /wallet/google/{cardId}?t=TOKEN}: the join page's "Add to Google Wallet" link. Inserts
 * the card's LoyaltyObject if it has none yet and answers 303 to the save link
 * ({@code https://pay.google.com/gp/v/save/<jwt>}).
 *
 * <p>The token: a card id alone must not get anyone the card (the save link carries the card code,
 * and a saved pass shows it). So the link carries {@code t = <programId>.<mac>}, where {@code mac} is
 * the first 16 bytes of {@code HMAC-SHA256(linkKey, "google-save\n" + programId + "\n" + cardId)} in
 * base64url without padding. Only the sink knows {@code linkKey} (in SinkServer a key derived from the
 * card signing key), so only a page the sink gave out for that card holds a valid token. Compute it
 * with {@link #token} or the whole link with {@link #path}. The token does not expire: it is as
 * permanent as the card, and whoever has it has already seen the card.
 *
 * <p>Answers: 303 to the save link; 400 for a text that is not a card id; 403 for a missing or wrong
 * token (the same answer for both, and for an unknown program); 503 with {@code Retry-After: 30} when
 * Google could not be reached or refused (a small page says to try again).
 */
public final class GoogleSaveRoute {
    public static final String TEMPLATE = "/wallet/google/{cardId}";
    private static final int MAC_BYTES = 16;

    /** Finds a card for the route; empty for a program the sink does not run. */
    @FunctionalInterface
    public interface Cards {
        /** The card's current state (zero stamps for a new card, which has no row yet), with its card code. */
        Optional<CardState> card(String programId, String cardId);
    }

    private final GoogleChannel wallet;
    private final byte[] linkKey;
    private final Cards cards;

    public GoogleSaveRoute(GoogleChannel wallet, byte[] linkKey, Cards cards) {
        this.wallet = Objects.requireNonNull(wallet, "wallet");
        if (linkKey == null || linkKey.length < 16) {
            throw new IllegalArgumentException("the link key needs at least 16 bytes");
        }
        this.linkKey = linkKey.clone();
        this.cards = Objects.requireNonNull(cards, "cards");
    }

    public void register(Router router) {
        router.get(TEMPLATE, Access.PUBLIC, this::handle);
    }

    /** The token for a card's link: {@code <programId>.<base64url of 16 bytes of HMAC-SHA256>}. */
    public static String token(byte[] linkKey, String programId, String cardId) {
        return programId + "." + Base64.getUrlEncoder().withoutPadding().encodeToString(mac(linkKey, programId, cardId));
    }

    /** The route's path and query for a card: {@code /wallet/google/<cardId>?t=<token>}. */
    public static String path(byte[] linkKey, String programId, String cardId) {
        return "/wallet/google/" + cardId + "?t=" + token(linkKey, programId, cardId);
    }

    private void handle(Exchange ex) {
        String cardId = ex.param("cardId");
        if (!CardCode.CARD_ID.matcher(cardId).matches()) {
            throw Problem.badRequest("'" + cardId + "' is not a card id; a card id matches " + CardCode.CARD_ID.pattern());
        }
        String programId = verified(ex.query("t"), cardId);
        if (!wallet.enabled()) {
            throw new Problem(404, "Google Wallet is not set up on this server");
        }
        CardState card = cards.card(programId, cardId).orElseThrow(GoogleSaveRoute::refused);
        String link;
        try {
            link = wallet.saveLink(card).toString();
        } catch (GoogleWalletException e) {
            Logger.warn("Google Wallet: no save link for card {} ({})", cardId, e.getMessage());
            ex.header("Retry-After", "30");
            ex.html(503, unavailablePage());
            return;
        }
        ex.header("Location", link);
        ex.header("Cache-Control", "no-store");
        ex.text(303, "See " + link + "\n");
    }

    /** The program id of a valid token; a 403 otherwise. */
    private String verified(String token, String cardId) {
        if (token == null || token.length() > 80) {
            throw refused();
        }
        int dot = token.indexOf('.');
        if (dot <= 0) {
            throw refused();
        }
        String programId = token.substring(0, dot);
        if (!CardCode.PROGRAM_ID.matcher(programId).matches()) {
            throw refused();
        }
        byte[] given;
        try {
            given = Base64.getUrlDecoder().decode(token.substring(dot + 1));
        } catch (IllegalArgumentException e) {
            throw refused();
        }
        // the re-encoding must match too, so that padding bits or '=' give no second spelling of a token
        if (!MessageDigest.isEqual(given, mac(linkKey, programId, cardId))
                || !token.equals(token(linkKey, programId, cardId))) {
            throw refused();
        }
        return programId;
    }

    private static Problem refused() {
        return new Problem(403, "this link is not valid for this card; open the card's own page again");
    }

    private static byte[] mac(byte[] key, String programId, String cardId) {
        try {
            Mac mac = Mac.getInstance("HmacSHA256");
            mac.init(new SecretKeySpec(key, "HmacSHA256"));
            byte[] full = mac.doFinal(("google-save\n" + programId + "\n" + cardId).getBytes(StandardCharsets.UTF_8));
            byte[] out = new byte[MAC_BYTES];
            System.arraycopy(full, 0, out, 0, MAC_BYTES);
            return out;
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("HmacSHA256 is in every JDK", e);
        }
    }

    private static String unavailablePage() {
        return "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">"
                + "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
                + "<title>Google Wallet not reachable</title><link rel=\"stylesheet\" href=\"/assets/site.css\"></head>"
                + "<body><main><h1>Google Wallet is not reachable</h1>"
                + "<p>Your card is safe. Please go back and try again in a minute.</p></main></body></html>";
    }
}
