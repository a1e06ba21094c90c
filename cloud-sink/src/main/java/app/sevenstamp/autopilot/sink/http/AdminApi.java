package app.sevenstamp.autopilot.sink.http;

import app.sevenstamp.autopilot.protocol.card.CardCode;
import app.sevenstamp.autopilot.sink.loyalty.Program;
import app.sevenstamp.autopilot.sink.store.CardCorrections;
import app.sevenstamp.autopilot.sink.store.DeadLetters;
import app.sevenstamp.autopilot.sink.store.Ledger;
import app.sevenstamp.autopilot.sink.store.LedgerEntry;
import app.sevenstamp.autopilot.sink.store.StoreException;
import app.sevenstamp.autopilot.sink.store.StoredCard;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.sun.net.httpserver.HttpExchange;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.tinylog.Logger;

/**
 * The operator's routes, behind a bearer token ({@code admin.token}); without a token configured
 * they are not registered at all (404).
 * <ul>
 * <li>{@code POST /api/v1/admin/cards/{id}/adjust} {@code {"stamps":N,"rewards":M,"reason":"...","operator":"..."}}</li>
 * <li>{@code POST /api/v1/admin/cards/{id}/undo} {@code {"reason":"...","operator":"..."}}: undo the last stamp</li>
 * <li>{@code GET /api/v1/admin/cards/{id}/ledger}: every ledger line of the card</li>
 * <li>{@code GET /api/v1/admin/dead-letters}: counts by kind and the 50 newest (without payload)</li>
 * </ul>
 * A refused correction answers 409 with the reason; a wrong or missing token 401. Runs on the
 * HTTP API's pool; each request is one short transaction.
 */
public final class AdminApi {
    static final String PREFIX = "/api/v1/admin/";
    private static final Pattern CARD_ROUTE = Pattern.compile("cards/([^/]+)/(adjust|undo|ledger)");
    private static final int MAX_BODY = 4096;

    private final byte[] token;
    private final CardCorrections corrections;
    private final Ledger ledger;
    private final DeadLetters deadLetters;
    private final Map<String, Program> programs;
    private final ObjectMapper json = new ObjectMapper();

    public AdminApi(String token, CardCorrections corrections, Ledger ledger, DeadLetters deadLetters,
            Map<String, Program> programs) {
        this.token = ("Bearer " + Objects.requireNonNull(token, "token")).getBytes(StandardCharsets.UTF_8);
        this.corrections = corrections;
        this.ledger = ledger;
        this.deadLetters = deadLetters;
        this.programs = Map.copyOf(programs);
    }

    /** Registers the routes on the running HTTP API. */
    public void register(HttpApi http) {
        http.route(PREFIX, this::handle);
    }

    private void handle(HttpExchange ex) throws IOException {
        try (ex) {
            String auth = ex.getRequestHeaders().getFirst("Authorization");
            if (auth == null || !MessageDigest.isEqual(token, auth.getBytes(StandardCharsets.UTF_8))) {
                send(ex, 401, Map.of("error", "admin routes need the header 'Authorization: Bearer <admin.token>'"));
                return;
            }
            String path = ex.getRequestURI().getPath().substring(PREFIX.length());
            String method = ex.getRequestMethod();
            if (path.equals("dead-letters") && method.equals("GET")) {
                deadLetters(ex);
                return;
            }
            Matcher m = CARD_ROUTE.matcher(path);
            if (!m.matches()) {
                send(ex, 404, Map.of("error", "no such admin resource: " + ex.getRequestURI().getPath()));
                return;
            }
            String cardId = m.group(1);
            if (!CardCode.CARD_ID.matcher(cardId).matches()) {
                send(ex, 400, Map.of("error", "'" + cardId + "' is not a card id"));
                return;
            }
            String action = m.group(2);
            boolean post = !action.equals("ledger");
            if (!method.equals(post ? "POST" : "GET")) {
                ex.getResponseHeaders().set("Allow", post ? "POST" : "GET");
                send(ex, 405, Map.of("error", "use " + (post ? "POST" : "GET") + " for " + action));
                return;
            }
            if (!post) {
                List<Map<String, Object>> lines = new ArrayList<>();
                for (LedgerEntry e : ledger.entries(cardId)) {
                    lines.add(line(e));
                }
                send(ex, 200, Map.of("cardId", cardId, "lines", lines));
                return;
            }
            JsonNode body = body(ex);
            if (body == null) {
                send(ex, 400, Map.of("error", "the body must be a JSON object of at most " + MAX_BODY + " bytes"));
                return;
            }
            String reason = body.path("reason").asText(null);
            String operator = body.path("operator").asText("admin");
            try {
                StoredCard card = action.equals("adjust")
                        ? corrections.adjust(cardId, body.path("stamps").asInt(0), body.path("rewards").asInt(0), reason,
                                operator)
                        : corrections.undoLastStamp(cardId, reason, operator);
                Logger.info("card {} {} by operator {}: {} (now {})", cardId, action, operator, reason, card.balance());
                send(ex, 200, CardView.of(card, programs.get(card.programId())));
            } catch (CardCorrections.Refused e) {
                send(ex, 409, Map.of("error", e.getMessage()));
            }
        } catch (StoreException e) {
            Logger.error("admin {} {}: {}", ex.getRequestMethod(), ex.getRequestURI(), e.getMessage());
            trySend(ex, 503, "the card store is unavailable");
        } catch (RuntimeException e) {
            Logger.error(e, "admin {} {} failed", ex.getRequestMethod(), ex.getRequestURI());
            trySend(ex, 500, "internal error");
        }
    }

    private void deadLetters(HttpExchange ex) throws IOException {
        List<Map<String, Object>> latest = new ArrayList<>();
        for (DeadLetters.DeadLetter d : deadLetters.latest(50)) {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("id", d.id());
            m.put("receivedAt", d.receivedAt().toString());
            m.put("topic", d.topic());
            m.put("deviceId", d.deviceId());
            m.put("kind", d.kind());
            m.put("detail", d.detail());
            m.put("payloadSize", d.payloadSize());
            latest.add(m);
        }
        send(ex, 200, Map.of("counts", deadLetters.countByKind(), "latest", latest));
    }

    private static Map<String, Object> line(LedgerEntry e) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("id", e.id());
        m.put("type", e.type().name());
        m.put("stamps", e.stamps());
        m.put("rewards", e.rewards());
        m.put("earned", e.earned());
        m.put("eventId", e.eventId());
        m.put("location", e.location());
        m.put("occurredAt", e.occurredAt().toString());
        m.put("recordedAt", e.recordedAt().toString());
        m.put("reason", e.reason());
        m.put("note", e.note());
        m.put("actor", e.actor());
        m.put("flag", e.flag());
        m.put("undoes", e.undoes());
        return m;
    }

    private JsonNode body(HttpExchange ex) throws IOException {
        try (InputStream in = ex.getRequestBody()) {
            byte[] bytes = in.readNBytes(MAX_BODY + 1);
            if (bytes.length > MAX_BODY) {
                return null;
            }
            JsonNode node = json.readTree(bytes);
            return node != null && node.isObject() ? node : null;
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            return null;
        }
    }

    private void trySend(HttpExchange ex, int status, String error) {
        try {
            send(ex, status, Map.of("error", error));
        } catch (IOException | RuntimeException ignored) {
            Logger.debug("could not send the error response: {}", ignored.getMessage());
        }
    }

    private void send(HttpExchange ex, int status, Object body) throws IOException {
        byte[] bytes = json.writeValueAsBytes(body);
        ex.getResponseHeaders().set("Content-Type", "application/json; charset=utf-8");
        ex.getResponseHeaders().set("Cache-Control", "no-store");
        ex.sendResponseHeaders(status, bytes.length);
        try (OutputStream out = ex.getResponseBody()) {
            out.write(bytes);
        }
    }
}
