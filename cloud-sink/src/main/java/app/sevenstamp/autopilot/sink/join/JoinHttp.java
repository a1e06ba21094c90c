package app.sevenstamp.autopilot.sink.join;

import app.sevenstamp.autopilot.protocol.card.CardCode;
import app.sevenstamp.autopilot.sink.cards.CardIssuer;
import app.sevenstamp.autopilot.sink.cards.QrPng;
import app.sevenstamp.autopilot.sink.config.JoinSettings;
import app.sevenstamp.autopilot.sink.config.JoinSettings.Form;
import app.sevenstamp.autopilot.sink.loyalty.Program;
import app.sevenstamp.autopilot.sink.store.SinkStore;
import app.sevenstamp.autopilot.sink.store.StoredCard;
import app.sevenstamp.autopilot.sink.web.Access;
import app.sevenstamp.autopilot.sink.web.Exchange;
import app.sevenstamp.autopilot.sink.web.Problem;
import app.sevenstamp.autopilot.sink.web.Router;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.Instant;
import java.util.HashMap;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.LongSupplier;
import java.util.regex.Pattern;
import org.tinylog.Logger;

/**
 * Joining a program, all public:
 * <ul>
 * <li>{@code GET /join/{programId}}: the join page, a plain form; it mints nothing (link previews and
 *     crawlers open it);</li>
 * <li>{@code POST /join/{programId}}: issues a new signed card ({@link CardIssuer}, the code the box
 *     verifies offline), stores it with the hash of a secret link token ({@link JoinStore}) and answers
 *     303 to the web card. Guarded against other sites' posts ({@link FormGuard}) and limited per client
 *     address and per program ({@link IssueLimiter}): 429 with {@code Retry-After};</li>
 * <li>{@code GET /cards/{cardId}/w/{token}}: the web card (QR code of the card code, progress, the
 *     configured wallet buttons), with {@code /qr.png} and {@code /manifest.webmanifest} below it. A
 *     wrong token gets the same 404 as an unknown card;</li>
 * <li>{@code GET /webcard-sw.js}, {@code /assets/webcard.js}, {@code /assets/join.css},
 *     {@code /assets/icon-192.png}, {@code /assets/icon-512.png}: the files of those pages
 *     ({@link WebCardAssets});</li>
 * <li>{@code GET /api/v1/programs/{programId}/poster.png} and {@code .pdf} (operator): the counter
 *     poster ({@link Poster}).</li>
 * </ul>
 * Errors of the form are pages (the browser shows them); other callers get problem details.
 */
public final class JoinHttp {
    /** A form body is a few hundred bytes. */
    static final int MAX_FORM_BYTES = 4096;
    private static final Pattern EMAIL = Pattern.compile("[^\\s@<>()\\[\\]\\\\,;:\"]{1,64}@[A-Za-z0-9-]+(\\.[A-Za-z0-9-]+)+");
    private static final Pattern TEXT = Pattern.compile("[^\\p{Cntrl}]{1,80}");
    private static final ObjectMapper JSON = new ObjectMapper();

    private final Map<String, Program> programs;
    private final JoinSettings settings;
    private final CardIssuer issuer;
    private final JoinStore joins;
    private final SinkStore store;
    private final WalletOffers wallets;
    private final FormGuard guard;
    private final IssueLimiter limiter;
    private final Clock clock;
    private final SecureRandom random;
    private final byte[] icon192 = WebCardAssets.icon(192);
    private final byte[] icon512 = WebCardAssets.icon(512);
    private final AtomicLong issued = new AtomicLong();
    private final AtomicLong limited = new AtomicLong();
    private final AtomicLong forged = new AtomicLong();

    /**
     * @param formKey the key of the join form's tokens: the same on every instance (SigningKey.derivedKey)
     * @param nanoTime the monotonic clock of the rate limits
     */
    public JoinHttp(Map<String, Program> programs, JoinSettings settings, CardIssuer issuer, SinkStore store,
            WalletOffers wallets, byte[] formKey, Clock clock, LongSupplier nanoTime, SecureRandom random) {
        this.programs = Map.copyOf(programs);
        this.settings = settings;
        this.issuer = issuer;
        this.joins = new JoinStore(store);
        this.store = store;
        this.wallets = wallets;
        this.guard = new FormGuard(formKey, settings.publicUrl(), random);
        this.limiter = new IssueLimiter(settings.perAddress(), settings.perProgram(), nanoTime);
        this.clock = clock;
        this.random = random;
    }

    public void register(Router router) {
        router.get("/join/{programId}", Access.PUBLIC, this::joinPage);
        router.post("/join/{programId}", Access.PUBLIC, this::join);
        router.get("/cards/{cardId}/w/{token}", Access.PUBLIC, this::webCard);
        router.get("/cards/{cardId}/w/{token}/qr.png", Access.PUBLIC, this::cardQr);
        router.get("/cards/{cardId}/w/{token}/manifest.webmanifest", Access.PUBLIC, this::manifest);
        router.get("/webcard-sw.js", Access.PUBLIC, ex -> asset(ex, "text/javascript; charset=utf-8",
                WebCardAssets.WORKER.getBytes(StandardCharsets.UTF_8), "no-cache"));
        router.get("/assets/webcard.js", Access.PUBLIC, ex -> asset(ex, "text/javascript; charset=utf-8",
                WebCardAssets.REGISTER.getBytes(StandardCharsets.UTF_8), "public, max-age=3600"));
        router.get("/assets/join.css", Access.PUBLIC, ex -> asset(ex, "text/css; charset=utf-8",
                WebCardAssets.STYLE.getBytes(StandardCharsets.UTF_8), "public, max-age=3600"));
        router.get("/assets/icon-192.png", Access.PUBLIC, ex -> asset(ex, "image/png", icon192, "public, max-age=86400"));
        router.get("/assets/icon-512.png", Access.PUBLIC, ex -> asset(ex, "image/png", icon512, "public, max-age=86400"));
        router.get("/api/v1/programs/{programId}/poster.png", Access.ADMIN, ex -> poster(ex, Poster.Format.PNG));
        router.get("/api/v1/programs/{programId}/poster.pdf", Access.ADMIN, ex -> poster(ex, Poster.Format.PDF));
        if (!wallets.any()) {
            Logger.info("no wallet credentials: the join page offers the web card only");
        }
        if (settings.publicUrl() == null) {
            Logger.info("web.publicUrl is not set: no counter poster until it is (its QR code needs the public address)");
        }
    }

    /** Cards issued, posts refused by a rate limit, posts refused as not from the join page. */
    public Map<String, Long> metrics() {
        return Map.of("join.issued", issued.get(), "join.rateLimited", limited.get(), "join.formRefused", forged.get());
    }

    /** The store of joined cards, for the wallet routes (a card's code only with its link token). */
    public JoinStore joins() {
        return joins;
    }

    private void joinPage(Exchange ex) {
        Program program = program(ex);
        if (program == null) {
            return;
        }
        form(ex, 200, program, null, JoinPages.Typed.NOTHING);
    }

    /** The form with a fresh token and cookie. */
    private void form(Exchange ex, int status, Program program, String error, JoinPages.Typed typed) {
        FormGuard.Issued token = guard.issue(program.id(), clock.instant());
        ex.header("Set-Cookie", guard.setCookie(token));
        // same-origin, not the server's no-referrer: with no-referrer a browser sends "Origin: null" with the post
        ex.header("Referrer-Policy", "same-origin");
        ex.html(status, JoinPages.join(program, settings.form(program.id()), token.formToken(), error, typed));
    }

    private void join(Exchange ex) {
        Program program = program(ex);
        if (program == null) {
            return;
        }
        boolean page = wantsHtml(ex);
        String type = ex.header("Content-Type");
        if (type == null || !type.toLowerCase(Locale.ROOT).startsWith("application/x-www-form-urlencoded")) {
            throw new Problem(415, "send the join form as application/x-www-form-urlencoded");
        }
        Map<String, String> fields = form(ex.body(MAX_FORM_BYTES));
        Instant now = clock.instant();
        String refusal = guard.refusal(program.id(), fields.get("t"), ex.header("Cookie"), ex.header("Origin"),
                ex.header("Sec-Fetch-Site"), ex.header("Host"), now);
        if (refusal != null) {
            long n = forged.incrementAndGet();
            if (Long.bitCount(n) == 1) {
                Logger.warn("join {}: refused a post from {}: {} ({} so far)", program.id(), ex.clientAddress(), refusal, n);
            }
            if (page) {
                ex.html(403, JoinPages.message("Please try again", "This form could not be accepted: " + refusal
                        + ". Open the join page again and tap the button there.", "/join/" + program.id(), "Open the join page"));
                return;
            }
            throw new Problem(403, "join form refused: " + refusal);
        }
        Form form = settings.form(program.id());
        String name = form.askName() ? fields.getOrDefault("name", "").strip() : "";
        String email = form.askEmail() ? fields.getOrDefault("email", "").strip() : "";
        boolean consent = "yes".equals(fields.get("consent"));
        JoinPages.Typed typed = new JoinPages.Typed(name, email, consent);
        String invalid = !name.isEmpty() && !TEXT.matcher(name).matches() ? "The name can be up to 80 characters."
                : !email.isEmpty() && (email.length() > 254 || !EMAIL.matcher(email).matches()) ? "That e-mail address does not look right."
                : (!name.isEmpty() || !email.isEmpty()) && !consent ? "Please tick the box to agree, or leave the fields empty."
                : null;
        if (invalid != null) {
            if (page) {
                form(ex, 400, program, invalid, typed);
                return;
            }
            throw Problem.badRequest(invalid);
        }
        IssueLimiter.Verdict verdict = limiter.tryIssue(program.id(), ex.clientAddress());
        if (!verdict.allowed()) {
            long n = limited.incrementAndGet();
            if (Long.bitCount(n) == 1) {
                Logger.warn("join {}: {} is over {}; answered 429 ({} so far)", program.id(), ex.clientAddress(), verdict.limit(), n);
            }
            String retry = Long.toString(verdict.retryAfterSeconds());
            if (page) {
                ex.header("Retry-After", retry);
                ex.html(429, JoinPages.message("Too many new cards", "Too many cards were issued here just now. "
                        + "Please try again in " + inWords(verdict.retryAfterSeconds()) + ".", "/join/" + program.id(), "Try again"));
                return;
            }
            throw new Problem(429, "too many cards issued (" + verdict.limit() + "); retry after " + retry + " s",
                    Map.of("Retry-After", retry));
        }
        String code = issuer.issue(program);
        String cardId = code.split("\\.")[3];
        String token = CardLinks.newToken(random);
        boolean given = !name.isEmpty() || !email.isEmpty();
        joins.insert(new JoinedCard(cardId, program.id(), code, now, name.isEmpty() ? null : name,
                email.isEmpty() ? null : email, given ? form.consent() : null, given ? now : null), CardLinks.hash(token));
        issued.incrementAndGet();
        Logger.info("join {}: issued card {}{}", program.id(), cardId, given ? " (with contact details)" : "");
        String location = CardLinks.webCardPath(cardId, token);
        ex.header("Location", location);
        ex.html(303, JoinPages.message("Your card is ready", "Your card is ready.", location, "Open my card"));
    }

    private void webCard(Exchange ex) {
        Optional<JoinedCard> card = linked(ex);
        Program program = card.map(c -> programs.get(c.programId())).orElse(null);
        if (program == null) {
            ex.html(404, JoinPages.message("No such card", "This link does not lead to a card. Check that it was copied "
                    + "whole.", null, null));
            return;
        }
        Optional<StoredCard> stored = store.card(card.get().cardId());
        int stamps = stored.map(s -> s.balance().stamps()).orElse(0);
        int rewards = stored.map(s -> s.balance().rewardsAvailable()).orElse(0);
        // kept by the browser, checked again when online: the offline copy when there is no service worker
        ex.header("Cache-Control", "private, no-cache");
        ex.html(200, JoinPages.webCard(program, card.get(), ex.param("token"), stamps, rewards, wallets));
    }

    private void cardQr(Exchange ex) {
        JoinedCard card = linked(ex).orElseThrow(() -> Problem.notFound("no such card link"));
        // a card's code never changes
        ex.header("Cache-Control", "private, max-age=31536000, immutable");
        ex.send(200, "image/png", QrPng.png(card.cardCode(), QrPng.MODULE_PIXELS));
    }

    private void manifest(Exchange ex) {
        JoinedCard card = linked(ex).orElseThrow(() -> Problem.notFound("no such card link"));
        Program program = programs.get(card.programId());
        if (program == null) {
            throw Problem.notFound("the card's program is no longer offered");
        }
        try {
            ex.send(200, "application/manifest+json",
                    JSON.writeValueAsBytes(JoinPages.manifest(program, card.cardId(), ex.param("token"))));
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("a map of strings is JSON", e);
        }
    }

    private Optional<JoinedCard> linked(Exchange ex) {
        String cardId = ex.param("cardId");
        String token = ex.param("token");
        if (!CardCode.CARD_ID.matcher(cardId).matches() || !CardLinks.TOKEN.matcher(token).matches()) {
            return Optional.empty();
        }
        return joins.withLink(cardId, token);
    }

    private void poster(Exchange ex, Poster.Format format) {
        String id = ex.param("programId");
        Program program = programs.get(id);
        if (program == null) {
            throw Problem.notFound("no program '" + id + "'; configured: " + String.join(", ", new java.util.TreeSet<>(programs.keySet())));
        }
        String url = settings.joinUrl(id);
        if (url == null) {
            throw Problem.conflict("web.publicUrl is not set: the poster's QR code needs the address customers' phones "
                    + "reach this sink at, for example web.publicUrl=https://stamps.example.com");
        }
        ex.header("Content-Disposition", "attachment; filename=\"poster-" + id + "." + format.name().toLowerCase(Locale.ROOT) + "\"");
        ex.send(200, format.contentType(), Poster.render(program, url, format));
    }

    /** The program of the path; answers 404 (a page) and returns null when there is none. */
    private Program program(Exchange ex) {
        String id = ex.param("programId");
        Program program = CardCode.PROGRAM_ID.matcher(id).matches() ? programs.get(id) : null;
        if (program == null) {
            ex.html(404, JoinPages.message("No such loyalty program", "This shop has no loyalty program here. Check the "
                    + "address on the poster.", null, null));
        }
        return program;
    }

    private static void asset(Exchange ex, String type, byte[] body, String cacheControl) {
        ex.header("Cache-Control", cacheControl);
        ex.send(200, type, body);
    }

    private static boolean wantsHtml(Exchange ex) {
        String accept = ex.header("Accept");
        return accept != null && accept.contains("text/html");
    }

    private static String inWords(long seconds) {
        return seconds < 90 ? seconds + " seconds" : (seconds + 59) / 60 + " minutes";
    }

    /** An application/x-www-form-urlencoded body; the first value of a name counts. */
    static Map<String, String> form(byte[] body) {
        Map<String, String> out = new HashMap<>();
        String text = new String(body, StandardCharsets.US_ASCII);
        for (String pair : text.split("&")) {
            if (pair.isEmpty()) {
                continue;
            }
            int eq = pair.indexOf('=');
            try {
                String k = URLDecoder.decode(eq < 0 ? pair : pair.substring(0, eq), StandardCharsets.UTF_8);
                String v = eq < 0 ? "" : URLDecoder.decode(pair.substring(eq + 1), StandardCharsets.UTF_8);
                out.putIfAbsent(k, v);
            } catch (IllegalArgumentException e) {
                throw Problem.badRequest("the form is not application/x-www-form-urlencoded: " + e.getMessage());
            }
        }
        return out;
    }
}
