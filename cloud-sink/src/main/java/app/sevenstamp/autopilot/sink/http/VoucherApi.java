package app.sevenstamp.autopilot.sink.http;

import app.sevenstamp.autopilot.protocol.RedeemAnswer;
import app.sevenstamp.autopilot.protocol.RedeemOutcome;
import app.sevenstamp.autopilot.protocol.RedeemRequest;
import app.sevenstamp.autopilot.protocol.WireCodec;
import app.sevenstamp.autopilot.protocol.card.CardCode;
import app.sevenstamp.autopilot.protocol.support.ConfigException;
import app.sevenstamp.autopilot.protocol.support.Settings;
import app.sevenstamp.autopilot.protocol.voucher.VoucherCode;
import app.sevenstamp.autopilot.sink.store.SinkStore;
import app.sevenstamp.autopilot.sink.store.StoreException;
import app.sevenstamp.autopilot.sink.voucher.Redemptions;
import app.sevenstamp.autopilot.sink.voucher.Voucher;
import app.sevenstamp.autopilot.sink.voucher.VoucherImages;
import app.sevenstamp.autopilot.sink.voucher.VoucherIssuer;
import app.sevenstamp.autopilot.sink.voucher.VoucherStore;
import com.fasterxml.jackson.databind.JsonNode;
import com.sun.net.httpserver.HttpExchange;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.time.Clock;
import java.time.DateTimeException;
import java.time.Duration;
import java.time.Instant;
import java.time.LocalDate;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Properties;
import java.util.TreeMap;
import java.util.regex.Matcher;
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
 * Runs on the HTTP API's pool; each request is one short transaction.
 */
public final class VoucherApi implements HttpApi.CardVouchers {
    static final String PATH = "/api/v1/vouchers";
    private static final Pattern ROUTE = Pattern.compile("/([^/]{1,64})(?:/(qr\\.png|code128\\.png|redeem|cancel))?");
    private static final Pattern TITLE = Pattern.compile("[^\\p{Cntrl}]{1,80}");
    private static final Pattern LOCATION = Pattern.compile("[A-Za-z0-9][A-Za-z0-9_.-]{0,63}");
    private static final int MAX_BODY = 4096;

    private final byte[] adminToken;
    private final Map<String, byte[]> posKeys = new TreeMap<>();
    private final VoucherStore vouchers;
    private final VoucherIssuer issuer;
    private final Redemptions redemptions;
    private final SinkStore store;
    private final Clock clock;
    private final WireCodec codec = new WireCodec();

    /** @param posKeys location -> API key, as {@link PosApi} takes them */
    public VoucherApi(String adminToken, Map<String, String> posKeys, VoucherStore vouchers, VoucherIssuer issuer,
            Redemptions redemptions, SinkStore store, Clock clock) {
        this.adminToken = ("Bearer " + Objects.requireNonNull(adminToken, "adminToken")).getBytes(StandardCharsets.UTF_8);
        posKeys.forEach((location, key) -> this.posKeys.put(location, ("Bearer " + key).getBytes(StandardCharsets.UTF_8)));
        this.vouchers = vouchers;
        this.issuer = issuer;
        this.redemptions = redemptions;
        this.store = store;
        this.clock = clock;
    }

    public void register(HttpApi http) {
        http.route(PATH, this::handle);
        http.routeCardVouchers(this);
    }

    @Override
    public List<Map<String, Object>> customerView(String cardId) {
        Instant now = clock.instant();
        List<Map<String, Object>> out = new ArrayList<>();
        for (Voucher v : vouchers.byCard(cardId)) {
            out.add(VoucherJson.customer(v, now));
        }
        return out;
    }

    @Override
    public void operatorList(HttpExchange ex, String cardId) throws IOException {
        if (admitted(ex)) {
            list(ex, cardId);
        }
    }

    private void handle(HttpExchange ex) throws IOException {
        try (ex) {
            String rest = ex.getRequestURI().getPath().substring(PATH.length());
            String method = ex.getRequestMethod();
            if (rest.isEmpty() || rest.equals("/")) {
                if (method.equals("POST")) {
                    if (admitted(ex)) {
                        goodwill(ex);
                    }
                } else if (method.equals("GET")) {
                    if (admitted(ex)) {
                        String card = query(ex, "card");
                        if (card != null && !CardCode.CARD_ID.matcher(card).matches()) {
                            JsonExchange.send(ex, 400, Map.of("error", "'" + card + "' is not a card id"));
                            return;
                        }
                        list(ex, card);
                    }
                } else {
                    notAllowed(ex, "GET, POST");
                }
                return;
            }
            Matcher m = ROUTE.matcher(rest);
            if (!m.matches()) {
                JsonExchange.send(ex, 404, Map.of("error", "no such resource: " + ex.getRequestURI().getPath()));
                return;
            }
            Optional<VoucherCode> code = VoucherCode.parse(m.group(1));
            String leaf = m.group(2);
            if ("redeem".equals(leaf) || "cancel".equals(leaf)) {
                if (!method.equals("POST")) {
                    notAllowed(ex, "POST");
                    return;
                }
                till(ex, code.map(VoucherCode::text).orElse(m.group(1)), "redeem".equals(leaf)
                        ? RedeemRequest.Action.REDEEM : RedeemRequest.Action.CANCEL);
                return;
            }
            if (!method.equals("GET") && !method.equals("HEAD")) {
                notAllowed(ex, "GET");
                return;
            }
            if (code.isEmpty()) {
                JsonExchange.send(ex, 400, Map.of("error", "'" + m.group(1) + "' is not a voucher code; a voucher code "
                        + "looks like 7V-XXXX-XXXX-XXXX-XXXX and ends in a check character"));
                return;
            }
            if (leaf != null) {
                image(ex, code.get(), leaf.equals(VoucherImages.Kind.QR.fileName()) ? VoucherImages.Kind.QR
                        : VoucherImages.Kind.CODE128);
                return;
            }
            if (!admitted(ex)) {
                return;
            }
            Optional<Voucher> v = vouchers.find(code.get());
            if (v.isEmpty()) {
                JsonExchange.send(ex, 404, Map.of("error", "no voucher has the code " + code.get()));
                return;
            }
            JsonExchange.send(ex, 200, VoucherJson.operator(v.get(), clock.instant()));
        } catch (StoreException e) {
            Logger.error("vouchers {} {}: {}", ex.getRequestMethod(), ex.getRequestURI(), e.getMessage());
            JsonExchange.trySendError(ex, 503, "the voucher store is unavailable; retry");
        } catch (RuntimeException e) {
            Logger.error(e, "vouchers {} {} failed", ex.getRequestMethod(), ex.getRequestURI());
            JsonExchange.trySendError(ex, 500, "internal error");
        }
    }

    private boolean admitted(HttpExchange ex) throws IOException {
        String auth = ex.getRequestHeaders().getFirst("Authorization");
        if (auth == null || !MessageDigest.isEqual(adminToken, auth.getBytes(StandardCharsets.UTF_8))) {
            JsonExchange.send(ex, 401, Map.of("error", "voucher routes need the header 'Authorization: Bearer <admin.token>'"));
            return false;
        }
        return true;
    }

    private void list(HttpExchange ex, String cardId) throws IOException {
        Instant now = clock.instant();
        List<Map<String, Object>> out = new ArrayList<>();
        for (Voucher v : cardId == null ? vouchers.latest(500) : vouchers.byCard(cardId)) {
            out.add(VoucherJson.operator(v, now));
        }
        JsonExchange.send(ex, 200, cardId == null ? Map.of("vouchers", out) : Map.of("cardId", cardId, "vouchers", out));
    }

    private void goodwill(HttpExchange ex) throws IOException {
        JsonNode body;
        try {
            body = JsonExchange.readObject(ex, MAX_BODY);
        } catch (IllegalArgumentException e) {
            JsonExchange.send(ex, 400, Map.of("error", e.getMessage()));
            return;
        }
        String title = body.path("title").asText("");
        String reason = body.path("reason").asText("");
        String cardId = body.path("cardId").asText(null);
        String cardCode = body.path("cardCode").asText(null);
        String location = body.path("location").asText(null);
        String operator = body.path("operator").asText("admin");
        String problem = !TITLE.matcher(title).matches() ? "title: 1 to 80 characters without control characters is required"
                : reason.isBlank() || reason.length() > 500 ? "reason: why the voucher is given (1 to 500 characters) is required"
                : cardId != null && !CardCode.CARD_ID.matcher(cardId).matches() ? "cardId: '" + cardId + "' is not a card id"
                        + (cardId.startsWith(CardCode.MAGIC + ".") ? "; a scanned card code goes into 'cardCode'" : "")
                : cardCode != null && (cardCode.isBlank() || cardCode.length() > CardCode.MAX_LENGTH) ? "cardCode: the "
                        + "card's scanned code (7S1.<key>.<program>.<card>.<signature>, at most " + CardCode.MAX_LENGTH
                        + " characters) is expected"
                : location != null && !LOCATION.matcher(location).matches() ? "location: '" + location + "' is not a location id"
                : null;
        if (problem != null) {
            JsonExchange.send(ex, 400, Map.of("error", problem));
            return;
        }
        Duration validity;
        Instant from;
        try {
            validity = validity(body.path("valid").asText("30d"));
            from = from(body.path("from").asText(null));
        } catch (ConfigException e) {
            JsonExchange.send(ex, 400, Map.of("error", e.getMessage()));
            return;
        }
        try {
            Voucher v = issuer.goodwill(new VoucherIssuer.Goodwill(title, cardId, validity, from, location, reason, operator,
                    cardCode));
            JsonExchange.send(ex, 201, VoucherJson.operator(v, clock.instant()));
        } catch (VoucherIssuer.Refused e) {
            JsonExchange.send(ex, 409, Map.of("error", e.getMessage()));
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

    private void image(HttpExchange ex, VoucherCode code, VoucherImages.Kind kind) throws IOException {
        byte[] png = VoucherImages.png(code, kind);
        ex.getResponseHeaders().set("Content-Type", "image/png");
        ex.getResponseHeaders().set("Cache-Control", "no-store");
        if (ex.getRequestMethod().equals("HEAD")) {
            ex.sendResponseHeaders(200, -1);
            return;
        }
        ex.sendResponseHeaders(200, png.length);
        try (OutputStream out = ex.getResponseBody()) {
            out.write(png);
        }
    }

    /** A till's redeem, or its cancel of the redeem with the same Idempotency-Key. */
    private void till(HttpExchange ex, String codeText, RedeemRequest.Action action) throws IOException {
        Optional<String> location = PosApi.location(posKeys, ex.getRequestHeaders().getFirst("Authorization"));
        if (location.isEmpty()) {
            JsonExchange.send(ex, 401, Map.of("error", "unknown API key; send 'Authorization: Bearer <pos.<location>.apiKey>'"));
            return;
        }
        String idempotencyKey = ex.getRequestHeaders().getFirst("Idempotency-Key");
        if (idempotencyKey == null || !PosApi.IDEMPOTENCY_KEY.matcher(idempotencyKey).matches()) {
            JsonExchange.send(ex, 400, Map.of("error", "the header Idempotency-Key is required: 1 to 128 printable characters, "
                    + "the same for every retry of one redemption and for its cancel"));
            return;
        }
        String device = "pos-" + location.get();
        // Stable across retries, distinct across locations. The voucher code is part of it, so one receipt
        // number used for two vouchers makes two requests.
        String requestId = requestId(location.get(), "redeem\n" + idempotencyKey + "\n" + codeText);
        RedeemAnswer answer = redemptions.decide(new RedeemRequest(WireCodec.SCHEMA, requestId, device, action, codeText,
                location.get(), clock.instant()), device);
        store.sync();
        Logger.info("voucher {} {} at the till of {}: {}", answer.voucherCode(), action, location.get(), answer.outcome());
        // 200 only for what was asked: a redeem answered CANCELLED (it came after its cancel) hands nothing over.
        RedeemOutcome done = action == RedeemRequest.Action.REDEEM ? RedeemOutcome.REDEEMED : RedeemOutcome.CANCELLED;
        int status = answer.outcome() == done ? 200 : answer.outcome() == RedeemOutcome.OTHER ? 409 : 422;
        JsonExchange.sendBytes(ex, status, codec.encode(answer));
    }

    /**
     * 'pos-' and 40 hex digits of SHA-256(location, key), what POS stamp event ids were too. Kept for
     * redemptions: a cancel must find the redeem stored under the id a sink before this one derived.
     */
    private static String requestId(String location, String idempotencyKey) {
        try {
            byte[] hash = java.security.MessageDigest.getInstance("SHA-256")
                    .digest((location + "\n" + idempotencyKey).getBytes(java.nio.charset.StandardCharsets.UTF_8));
            return "pos-" + java.util.HexFormat.of().formatHex(hash).substring(0, 40);
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is part of every JDK", e);
        }
    }

    private static void notAllowed(HttpExchange ex, String allow) throws IOException {
        ex.getResponseHeaders().set("Allow", allow);
        JsonExchange.send(ex, 405, Map.of("error", "use " + allow + " for " + ex.getRequestURI().getPath()));
    }

    private static String query(HttpExchange ex, String name) {
        String q = ex.getRequestURI().getQuery();
        if (q == null) {
            return null;
        }
        for (String part : q.split("&")) {
            if (part.startsWith(name + "=")) {
                return part.substring(name.length() + 1);
            }
        }
        return null;
    }
}
