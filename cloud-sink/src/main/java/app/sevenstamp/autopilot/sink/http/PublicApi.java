package app.sevenstamp.autopilot.sink.http;

import app.sevenstamp.autopilot.protocol.card.CardCode;
import app.sevenstamp.autopilot.sink.metrics.SinkMetrics;
import app.sevenstamp.autopilot.sink.loyalty.Program;
import app.sevenstamp.autopilot.sink.store.SeqGap;
import app.sevenstamp.autopilot.sink.store.SinkStore;
import app.sevenstamp.autopilot.sink.store.StoredCard;
import app.sevenstamp.autopilot.sink.web.Access;
import app.sevenstamp.autopilot.sink.web.Exchange;
import app.sevenstamp.autopilot.sink.web.Problem;
import app.sevenstamp.autopilot.sink.web.Router;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.TreeMap;
import java.util.function.Function;
import java.util.regex.Pattern;

/**
 * The routes anyone may call:
 * <ul>
 * <li>{@code GET /api/v1/cards/{cardId}}: the card as JSON ({@link CardView}); 404 for a card
 *     without stamps yet, 400 for a text that cannot be a card id;</li>
 * <li>{@code GET /cards/{cardId}}: the same as a small HTML page; {@code GET /assets/site.css} its style;</li>
 * <li>{@code GET /api/v1/metrics}: the ingest counters ({@link SinkMetrics#snapshot()}) and the open
 *     sequence gaps over all devices ({@code gapsOpen}, {@code eventsMissing});</li>
 * <li>{@code GET /api/v1/devices/{deviceId}/gaps}: the device's open sequence gaps;</li>
 * <li>{@code GET /healthz}: 200 {@code ok}.</li>
 * </ul>
 * Each read is one statement on a pooled connection, so a slow client never holds anything the ingest needs.
 */
public final class PublicApi {
    private static final Pattern DEVICE = Pattern.compile("[A-Za-z0-9][A-Za-z0-9_.-]{0,63}");

    private final SinkStore store;
    private final Map<String, Program> programs;
    private final SinkMetrics metrics;
    private final Function<String, List<Map<String, Object>>> vouchers;

    /** @param vouchers card id -> what the customer may see of its vouchers */
    public PublicApi(SinkStore store, Map<String, Program> programs, SinkMetrics metrics,
            Function<String, List<Map<String, Object>>> vouchers) {
        this.store = store;
        this.programs = java.util.Objects.requireNonNull(programs, "programs"); // not copied: the console's live view (ProgramBook)
        this.metrics = metrics;
        this.vouchers = vouchers;
    }

    public void register(Router router) {
        router.get("/healthz", Access.PUBLIC, ex -> ex.text(200, "ok\n"))
                .get("/api/v1/cards/{cardId}", Access.PUBLIC, this::cardJson)
                .get("/cards/{cardId}", Access.PUBLIC, this::cardPage)
                .get("/assets/site.css", Access.PUBLIC, PublicApi::style)
                .get("/api/v1/metrics", Access.PUBLIC, this::metricsJson)
                .get("/api/v1/devices/{deviceId}/gaps", Access.PUBLIC, this::gapsJson);
    }

    private void cardJson(Exchange ex) {
        String id = ex.param("cardId");
        if (!CardCode.CARD_ID.matcher(id).matches()) {
            throw Problem.badRequest("'" + id + "' is not a card id; a card id matches " + CardCode.CARD_ID.pattern());
        }
        StoredCard card = store.card(id).orElseThrow(() -> Problem.notFound("card " + id + " has no stamps yet"));
        ex.json(200, CardView.of(card, programs.get(card.programId()), vouchers.apply(id)));
    }

    private void cardPage(Exchange ex) {
        String id = ex.param("cardId");
        if (!CardCode.CARD_ID.matcher(id).matches()) {
            ex.html(400, CardPage.message("Not a card", "This link does not name a loyalty card."));
            return;
        }
        Optional<StoredCard> card = store.card(id);
        if (card.isEmpty()) {
            ex.html(404, CardPage.message("No stamps yet", "Card " + id + " has no stamps yet. "
                    + "Show it at the counter on your next visit."));
            return;
        }
        ex.html(200, CardPage.render(CardView.of(card.get(), programs.get(card.get().programId()), vouchers.apply(id))));
    }

    private static void style(Exchange ex) {
        ex.header("Cache-Control", "public, max-age=3600");
        ex.send(200, "text/css; charset=utf-8", CardPage.STYLE.getBytes(StandardCharsets.UTF_8));
    }

    private void metricsJson(Exchange ex) {
        Map<String, Long> out = new TreeMap<>(metrics.snapshot());
        long[] gaps = store.gapTotals();
        out.put("gapsOpen", gaps[0]);
        out.put("eventsMissing", gaps[1]);
        ex.json(200, out);
    }

    /** {@code {deviceId, lastSeq, missing, gaps: [{from, to, missing, detectedAt}]}}; lastSeq is null for an unknown device. */
    private void gapsJson(Exchange ex) {
        String device = ex.param("deviceId");
        if (!DEVICE.matcher(device).matches()) {
            throw Problem.badRequest("'" + device + "' is not a device id: 1 to 64 letters, digits, '_', '.' or '-'");
        }
        List<Map<String, Object>> gaps = new ArrayList<>();
        long missing = 0;
        for (SeqGap g : store.gaps(device)) {
            Map<String, Object> one = new LinkedHashMap<>();
            one.put("from", g.from());
            one.put("to", g.to());
            one.put("missing", g.missing());
            one.put("detectedAt", g.detectedAt().toString());
            gaps.add(one);
            // capped: gaps stored before their span was bounded can add up beyond a long
            missing = missing + g.missing() < 0 ? Long.MAX_VALUE : missing + g.missing();
        }
        Map<String, Object> body = new LinkedHashMap<>();
        body.put("deviceId", device);
        OptionalLong last = store.lastSeq(device);
        body.put("lastSeq", last.isPresent() ? last.getAsLong() : null);
        body.put("missing", missing);
        body.put("gaps", gaps);
        ex.json(200, body);
    }
}
