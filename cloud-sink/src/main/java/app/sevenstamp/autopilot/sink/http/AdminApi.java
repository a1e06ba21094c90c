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
import com.sun.net.httpserver.HttpExchange;
import java.io.IOException;
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
                JsonExchange.send(ex, 401, Map.of("error", "admin routes need the header 'Authorization: Bearer <admin.token>'"));
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
                JsonExchange.send(ex, 404, Map.of("error", "no such admin resource: " + ex.getRequestURI().getPath()));
                return;
            }
            String cardId = m.group(1);
            if (!CardCode.CARD_ID.matcher(cardId).matches()) {
                JsonExchange.send(ex, 400, Map.of("error", "'" + cardId + "' is not a card id"));
                return;
            }
            String action = m.group(2);
            boolean post = !action.equals("ledger");
            if (!method.equals(post ? "POST" : "GET")) {
                ex.getResponseHeaders().set("Allow", post ? "POST" : "GET");
                JsonExchange.send(ex, 405, Map.of("error", "use " + (post ? "POST" : "GET") + " for " + action));
                return;
            }
            if (!post) {
                List<Map<String, Object>> lines = new ArrayList<>();
                for (LedgerEntry e : ledger.entries(cardId)) {
                    lines.add(line(e));
                }
                JsonExchange.send(ex, 200, Map.of("cardId", cardId, "lines", lines));
                return;
            }
            JsonNode body = JsonExchange.objectOrNull(ex, MAX_BODY);
            if (body == null) {
                JsonExchange.send(ex, 400, Map.of("error", "the body must be a JSON object of at most " + MAX_BODY + " bytes"));
                return;
            }
            String reason = body.path("reason").asText(null);
            String operator = body.path("operator").asText("admin");
            for (String field : new String[] {"stamps", "rewards"}) {
                if (action.equals("adjust") && amount(body, field) == null) {
                    JsonExchange.send(ex, 400, Map.of("error", field + " must be a whole number from -"
                            + CardCorrections.MAX_ADJUST + " to " + CardCorrections.MAX_ADJUST));
                    return;
                }
            }
            try {
                StoredCard card = action.equals("adjust")
                        ? corrections.adjust(cardId, amount(body, "stamps"), amount(body, "rewards"), reason, operator)
                        : corrections.undoLastStamp(cardId, reason, operator);
                Logger.info("card {} {} by operator {}: {} (now {})", cardId, action, operator, reason, card.balance());
                JsonExchange.send(ex, 200, CardView.of(card, programs.get(card.programId())));
            } catch (CardCorrections.Refused e) {
                JsonExchange.send(ex, 409, Map.of("error", e.getMessage()));
            }
        } catch (StoreException e) {
            Logger.error("admin {} {}: {}", ex.getRequestMethod(), ex.getRequestURI(), e.getMessage());
            JsonExchange.trySendError(ex, 503, "the card store is unavailable");
        } catch (RuntimeException e) {
            Logger.error(e, "admin {} {} failed", ex.getRequestMethod(), ex.getRequestURI());
            JsonExchange.trySendError(ex, 500, "internal error");
        }
    }

    /**
     * An adjustment's amount: 0 when absent, null when not a whole JSON number within
     * {@link CardCorrections#MAX_ADJUST}. Jackson's asInt truncated 4294967297 to 1 and read "3" and 1.5 as numbers.
     */
    private static Integer amount(JsonNode body, String field) {
        JsonNode n = body.get(field);
        if (n == null) {
            return 0;
        }
        if (!n.isIntegralNumber() || !n.canConvertToInt() || Math.abs(n.intValue()) > CardCorrections.MAX_ADJUST) {
            return null;
        }
        return n.intValue();
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
        JsonExchange.send(ex, 200, Map.of("counts", deadLetters.countByKind(), "latest", latest));
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

}
