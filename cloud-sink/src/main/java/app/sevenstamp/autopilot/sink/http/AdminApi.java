package app.sevenstamp.autopilot.sink.http;

import app.sevenstamp.autopilot.protocol.card.CardCode;
import app.sevenstamp.autopilot.sink.loyalty.Program;
import app.sevenstamp.autopilot.sink.store.CardCorrections;
import app.sevenstamp.autopilot.sink.store.DeadLetters;
import app.sevenstamp.autopilot.sink.store.Ledger;
import app.sevenstamp.autopilot.sink.store.LedgerEntry;
import app.sevenstamp.autopilot.sink.store.StoredCard;
import app.sevenstamp.autopilot.sink.web.Access;
import app.sevenstamp.autopilot.sink.web.Exchange;
import app.sevenstamp.autopilot.sink.web.Problem;
import app.sevenstamp.autopilot.sink.web.Router;
import com.fasterxml.jackson.databind.JsonNode;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.tinylog.Logger;

/**
 * The operator's routes, behind the operator's bearer token (the router's {@link Access#ADMIN}).
 * <ul>
 * <li>{@code POST /api/v1/admin/cards/{id}/adjust} {@code {"stamps":N,"rewards":M,"reason":"...","operator":"..."}}</li>
 * <li>{@code POST /api/v1/admin/cards/{id}/undo} {@code {"reason":"...","operator":"..."}}: undo the last stamp</li>
 * <li>{@code GET /api/v1/admin/cards/{id}/ledger}: every ledger line of the card</li>
 * <li>{@code GET /api/v1/admin/dead-letters}: counts by kind and the 50 newest (without payload)</li>
 * </ul>
 * A refused correction answers 409 with the reason; a wrong or missing token 401. Each request is one
 * short transaction.
 */
public final class AdminApi {
    static final String PREFIX = "/api/v1/admin/";
    private static final int MAX_BODY = 4096;

    private final CardCorrections corrections;
    private final Ledger ledger;
    private final DeadLetters deadLetters;
    private final Map<String, Program> programs;

    public AdminApi(CardCorrections corrections, Ledger ledger, DeadLetters deadLetters,
            Map<String, Program> programs) {
        this.corrections = corrections;
        this.ledger = ledger;
        this.deadLetters = deadLetters;
        this.programs = java.util.Objects.requireNonNull(programs, "programs"); // not copied: the console's live view (ProgramBook)
    }

    public void register(Router router) {
        router.post(PREFIX + "cards/{cardId}/adjust", Access.ADMIN, ex -> correct(ex, true))
                .post(PREFIX + "cards/{cardId}/undo", Access.ADMIN, ex -> correct(ex, false))
                .get(PREFIX + "cards/{cardId}/ledger", Access.ADMIN, this::ledger)
                .get(PREFIX + "dead-letters", Access.ADMIN, this::deadLetters);
    }

    private static String cardId(Exchange ex) {
        String cardId = ex.param("cardId");
        if (!CardCode.CARD_ID.matcher(cardId).matches()) {
            throw Problem.badRequest("'" + cardId + "' is not a card id");
        }
        return cardId;
    }

    private void ledger(Exchange ex) {
        String cardId = cardId(ex);
        List<Map<String, Object>> lines = new ArrayList<>();
        for (LedgerEntry e : ledger.entries(cardId)) {
            lines.add(line(e));
        }
        ex.json(200, Map.of("cardId", cardId, "lines", lines));
    }

    private void correct(Exchange ex, boolean adjust) {
        String cardId = cardId(ex);
        Correction parsed = Correction.parse(ex.jsonObject(MAX_BODY), adjust);
        // a person signed in to the console is named by their account, whatever the body says
        Correction c = ex.caller().viaSession() ? new Correction(parsed.stamps(), parsed.rewards(), parsed.reason(),
                ex.caller().operator()) : parsed;
        try {
            StoredCard card = adjust ? corrections.adjust(cardId, c.stamps(), c.rewards(), c.reason(), c.operator())
                    : corrections.undoLastStamp(cardId, c.reason(), c.operator());
            Logger.info("card {} {} by operator {}: {} (now {})", cardId, adjust ? "adjust" : "undo", c.operator(), c.reason(),
                    card.balance());
            ex.json(200, CardView.of(card, programs.get(card.programId())));
        } catch (CardCorrections.Refused e) {
            throw Problem.conflict(e.getMessage());
        }
    }

    /** The body of an adjust or an undo: amounts (adjust only), the reason and who asks. */
    record Correction(int stamps, int rewards, String reason, String operator) {
        static Correction parse(JsonNode body, boolean adjust) {
            int[] amounts = new int[2];
            String[] fields = {"stamps", "rewards"};
            for (int i = 0; adjust && i < fields.length; i++) {
                Integer n = amount(body, fields[i]);
                if (n == null) {
                    throw Problem.badRequest(fields[i] + " must be a whole number from -" + CardCorrections.MAX_ADJUST
                            + " to " + CardCorrections.MAX_ADJUST);
                }
                amounts[i] = n;
            }
            JsonNode reason = body.get("reason");
            if (reason != null && !reason.isTextual()) {
                throw Problem.badRequest("reason must be text");
            }
            return new Correction(amounts[0], amounts[1], reason == null ? null : reason.asText(),
                    body.path("operator").asText("admin"));
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

    private void deadLetters(Exchange ex) {
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
        ex.json(200, Map.of("counts", deadLetters.countByKind(), "latest", latest));
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
