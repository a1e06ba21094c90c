package app.sevenstamp.autopilot.sink.http;

import app.sevenstamp.autopilot.protocol.RedeemAnswer;
import app.sevenstamp.autopilot.protocol.RedeemOutcome;
import app.sevenstamp.autopilot.protocol.RedeemRequest;
import app.sevenstamp.autopilot.protocol.card.CardCode;
import app.sevenstamp.autopilot.protocol.support.ConfigException;
import app.sevenstamp.autopilot.protocol.support.Settings;
import app.sevenstamp.autopilot.protocol.voucher.VoucherCode;
import app.sevenstamp.autopilot.sink.till.TillDesk;
import app.sevenstamp.autopilot.sink.voucher.Voucher;
import app.sevenstamp.autopilot.sink.voucher.VoucherImages;
import app.sevenstamp.autopilot.sink.voucher.VoucherIssuer;
import app.sevenstamp.autopilot.sink.voucher.VoucherStore;
import app.sevenstamp.autopilot.sink.web.Access;
import app.sevenstamp.autopilot.sink.web.Exchange;
import app.sevenstamp.autopilot.sink.web.Problem;
import app.sevenstamp.autopilot.sink.web.Router;
import com.fasterxml.jackson.databind.JsonNode;
import java.time.Clock;
import java.time.DateTimeException;
import java.time.Duration;
import java.time.Instant;
import java.time.LocalDate;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.regex.Pattern;
import org.tinylog.Logger;

/**
 * Vouchers over HTTP.
 * <ul>
 * <li>{@code POST /api/v1/vouchers} (operator token) {@code {"title","reason","cardId"?,"cardCode"?,"valid":"30d"?,
 *     "from":"2026-12-01"?,"location"?,"operator"?}}: a goodwill voucher; 201 with the voucher, 409 when refused
 *     (unknown card without its code, a code that does not verify...). {@code cardCode} is the card's full scanned
 *     code: a card the sink does not know yet is created with 0 stamps</li>
 * <li>{@code GET /api/v1/vouchers[?card=ID]} and {@code GET /api/v1/cards/{id}/vouchers} (operator token): lists</li>
 * <li>{@code GET /api/v1/vouchers/{code}} (operator token): one voucher with its state now</li>
 * <li>{@code GET /api/v1/vouchers/{code}/qr.png} and {@code .../code128.png} (no token): the code as an image, drawn
 *     from the code alone without a lookup, so the route tells nobody whether a code exists</li>
 * <li>{@code POST /api/v1/vouchers/{code}/redeem} (POS key of a location, {@code Idempotency-Key}): redeem at a
 *     till, the same decision as a box's ({@link Redemptions}); 200 REDEEMED, 422 any refusal, with the
 *     {@link RedeemAnswer} as JSON; 409 OTHER when the key was used for another voucher</li>
 * <li>{@code POST /api/v1/vouchers/{code}/cancel} (the same POS key and {@code Idempotency-Key}): the till gave up
 *     waiting for its redeem: reverses what that redeem did, and a redeem arriving later redeems nothing; 200
 *     CANCELLED</li>
 * </ul>
 * Each request is one short transaction.
 */
public final class VoucherApi {
    static final String PATH = "/api/v1/vouchers";
    private static final Pattern TITLE = Pattern.compile("[^\\p{Cntrl}]{1,80}");
    private static final Pattern LOCATION = Pattern.compile("[A-Za-z0-9][A-Za-z0-9_.-]{0,63}");
    private static final int MAX_BODY = 4096;

    private final VoucherStore vouchers;
    private final VoucherIssuer issuer;
    private final TillDesk desk;
    private final Clock clock;

    public VoucherApi(VoucherStore vouchers, VoucherIssuer issuer, TillDesk desk, Clock clock) {
        this.vouchers = vouchers;
        this.issuer = issuer;
        this.desk = desk;
        this.clock = clock;
    }

    public void register(Router router) {
        router.post(PATH, Access.ADMIN, this::goodwill)
                .get(PATH, Access.ADMIN, ex -> list(ex, cardQuery(ex)))
                .get("/api/v1/cards/{cardId}/vouchers", Access.ADMIN, ex -> list(ex, cardId(ex.param("cardId"))))
                .get(PATH + "/{code}", Access.ADMIN, this::one)
                .get(PATH + "/{code}/qr.png", Access.PUBLIC, ex -> image(ex, VoucherImages.Kind.QR))
                .get(PATH + "/{code}/code128.png", Access.PUBLIC, ex -> image(ex, VoucherImages.Kind.CODE128))
                .post(PATH + "/{code}/redeem", Access.POS, ex -> till(ex, RedeemRequest.Action.REDEEM))
                .post(PATH + "/{code}/cancel", Access.POS, ex -> till(ex, RedeemRequest.Action.CANCEL));
    }

    /** What the customer may see of a card's vouchers (the card's JSON and page). */
    public List<Map<String, Object>> customerView(String cardId) {
        Instant now = clock.instant();
        List<Map<String, Object>> out = new ArrayList<>();
        for (Voucher v : vouchers.byCard(cardId)) {
            out.add(VoucherJson.customer(v, now));
        }
        return out;
    }

    private static String cardQuery(Exchange ex) {
        String card = ex.query("card");
        return card == null ? null : cardId(card);
    }

    private static String cardId(String card) {
        if (!CardCode.CARD_ID.matcher(card).matches()) {
            throw Problem.badRequest("'" + card + "' is not a card id");
        }
        return card;
    }

    private static VoucherCode code(Exchange ex) {
        String text = ex.param("code");
        return VoucherCode.parse(text).orElseThrow(() -> Problem.badRequest("'" + text + "' is not a voucher code; a voucher "
                + "code looks like 7V-XXXX-XXXX-XXXX-XXXX and ends in a check character"));
    }

    private void one(Exchange ex) {
        VoucherCode code = code(ex);
        Voucher v = vouchers.find(code).orElseThrow(() -> Problem.notFound("no voucher has the code " + code));
        ex.json(200, VoucherJson.operator(v, clock.instant()));
    }

    private void list(Exchange ex, String cardId) {
        Instant now = clock.instant();
        List<Map<String, Object>> out = new ArrayList<>();
        for (Voucher v : cardId == null ? vouchers.latest(500) : vouchers.byCard(cardId)) {
            out.add(VoucherJson.operator(v, now));
        }
        ex.json(200, cardId == null ? Map.of("vouchers", out) : Map.of("cardId", cardId, "vouchers", out));
    }

    private void goodwill(Exchange ex) {
        Goodwill request = Goodwill.parse(ex.jsonObject(MAX_BODY));
        try {
            Voucher v = issuer.goodwill(new VoucherIssuer.Goodwill(request.title(), request.cardId(), request.validity(),
                    request.from(), request.location(), request.reason(), request.operator(), request.cardCode()));
            ex.json(201, VoucherJson.operator(v, clock.instant()));
        } catch (VoucherIssuer.Refused e) {
            throw Problem.conflict(e.getMessage());
        }
    }

    /** The body of {@code POST /api/v1/vouchers}, validated. */
    record Goodwill(String title, String reason, String cardId, String cardCode, String location, String operator,
            Duration validity, Instant from) {
        static Goodwill parse(JsonNode body) {
            String title = text(body, "title", "");
            String reason = text(body, "reason", "");
            String cardId = text(body, "cardId", null);
            String cardCode = text(body, "cardCode", null);
            String location = text(body, "location", null);
            String operator = text(body, "operator", "admin");
            String problem = !TITLE.matcher(title).matches() ? "title: 1 to 80 characters without control characters is required"
                    : reason.isBlank() || reason.length() > 500 ? "reason: why the voucher is given (1 to 500 characters) is required"
                    : cardId != null && !CardCode.CARD_ID.matcher(cardId).matches() ? "cardId: '" + cardId + "' is not a card id"
                            + (cardId.startsWith(CardCode.MAGIC + ".") ? "; a scanned card code goes into 'cardCode'" : "")
                    : cardCode != null && (cardCode.isBlank() || cardCode.length() > CardCode.MAX_LENGTH) ? "cardCode: the "
                            + "card's scanned code (7S1.<key>.<program>.<card>.<signature>, at most " + CardCode.MAX_LENGTH
                            + " characters) is expected"
                    : location != null && !LOCATION.matcher(location).matches() ? "location: '" + location + "' is not a location id"
                    : operator.length() > 80 ? "operator: at most 80 characters"
                    : null;
            if (problem != null) {
                throw Problem.badRequest(problem);
            }
            try {
                return new Goodwill(title, reason, cardId, cardCode, location, operator,
                        VoucherApi.validity(text(body, "valid", "30d")), VoucherApi.from(text(body, "from", null)));
            } catch (ConfigException e) {
                throw Problem.badRequest(e.getMessage());
            }
        }

        /** A text field, or its default when absent or null; 400 when it is not text. */
        private static String text(JsonNode body, String field, String absent) {
            JsonNode n = body.get(field);
            if (n == null || n.isNull()) {
                return absent;
            }
            if (!n.isTextual()) {
                throw Problem.badRequest(field + ": text is expected");
            }
            return n.asText();
        }
    }

    /** Parsed as configuration durations are, with the same message: {@code valid: '3x' is not allowed; allowed: ...}. */
    static Duration validity(String text) {
        Properties p = new Properties();
        p.setProperty("valid", text);
        return new Settings(p, "request").duration("valid", Duration.ofDays(30), Duration.ZERO, Duration.ofDays(3650));
    }

    /** A date (its start, UTC) or an instant; null for now. */
    static Instant from(String text) {
        if (text == null || text.isBlank()) {
            return null;
        }
        try {
            return text.length() == 10 ? LocalDate.parse(text).atStartOfDay(ZoneOffset.UTC).toInstant() : Instant.parse(text);
        } catch (DateTimeException e) {
            throw Settings.bad("from", text, "a date like 2026-12-01 (from its start, UTC) or an instant like "
                    + "2026-12-01T09:00:00Z");
        }
    }

    /** Drawn from the code alone, without a lookup: the route tells nobody whether a code exists. */
    private static void image(Exchange ex, VoucherImages.Kind kind) {
        ex.send(200, "image/png", VoucherImages.png(code(ex), kind));
    }

    /** A till's redeem, or its cancel of the redeem with the same Idempotency-Key. */
    private void till(Exchange ex, RedeemRequest.Action action) {
        String location = ex.caller().location();
        String codeText = VoucherCode.parse(ex.param("code")).map(VoucherCode::text).orElse(ex.param("code"));
        if (codeText.length() > 64) {
            throw Problem.badRequest("'" + codeText.substring(0, 20) + "...' is not a voucher code");
        }
        String idempotencyKey = PosApi.idempotencyKey(ex, "the same for every retry of one redemption and for its cancel");
        RedeemAnswer answer = desk.redeem(location, idempotencyKey, codeText, action);
        Logger.info("voucher {} {} at the till of {}: {}", answer.voucherCode(), action, location, answer.outcome());
        // 200 only for what was asked: a redeem answered CANCELLED (it came after its cancel) hands nothing over.
        RedeemOutcome done = action == RedeemRequest.Action.REDEEM ? RedeemOutcome.REDEEMED : RedeemOutcome.CANCELLED;
        int status = answer.outcome() == done ? 200 : answer.outcome() == RedeemOutcome.OTHER ? 409 : 422;
        ex.jsonBytes(status, desk.json(answer));
    }

}
