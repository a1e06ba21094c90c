package app.sevenstamp.autopilot.sink.http;

import app.sevenstamp.autopilot.protocol.card.CardCode;
import app.sevenstamp.autopilot.protocol.support.NamedThreads;
import app.sevenstamp.autopilot.sink.SinkMetrics;
import app.sevenstamp.autopilot.sink.loyalty.Program;
import app.sevenstamp.autopilot.sink.store.SeqGap;
import app.sevenstamp.autopilot.sink.store.SinkStore;
import app.sevenstamp.autopilot.sink.store.StoreException;
import app.sevenstamp.autopilot.sink.store.StoredCard;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpHandler;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import org.tinylog.Logger;

/**
 * The read-only HTTP API, on the JDK's own HTTP server:
 * <ul>
 * <li>{@code GET /api/v1/cards/{cardId}}: the card as JSON ({@link CardView}); 404 for a card
 *     without stamps yet, 400 for a text that cannot be a card id;</li>
 * <li>{@code GET /cards/{cardId}}: the same as a small HTML page;</li>
 * <li>{@code GET /api/v1/cards/{cardId}/vouchers}: the card's vouchers for operators ({@code VoucherApi});</li>
 * <li>{@code GET /api/v1/metrics}: the ingest counters ({@link SinkMetrics#snapshot()}) and the open
 *     sequence gaps over all devices ({@code gapsOpen}, {@code eventsMissing});</li>
 * <li>{@code GET /api/v1/devices/{deviceId}/gaps}: the device's open sequence gaps;</li>
 * <li>{@code GET /healthz}: 200 {@code ok}.</li>
 * </ul>
 * Requests run on a small named pool ("http"); each read is one statement on a pooled connection,
 * so a slow client never holds anything the ingest needs.
 */
public final class HttpApi implements AutoCloseable {
    private static final String CARDS_API = "/api/v1/cards/";
    private static final String CARDS_PAGE = "/cards/";
    private static final String DEVICES_API = "/api/v1/devices/";
    private volatile HttpHandler devicesHandler;
    private static final String VOUCHERS_SUFFIX = "/vouchers";
    private volatile CardVouchers cardVouchers;
    private static final java.util.regex.Pattern GAPS_PATH = java.util.regex.Pattern.compile(
            "/api/v1/devices/([A-Za-z0-9][A-Za-z0-9_.-]{0,63})/gaps");
    private static final String JSON = "application/json; charset=utf-8";
    private static final String HTML = "text/html; charset=utf-8";
    private static final String TEXT = "text/plain; charset=utf-8";

    private final HttpServer server;
    private final ThreadPoolExecutor executor;
    private final SinkStore store;
    private final Map<String, Program> programs;
    private final SinkMetrics metrics;
    private final ObjectMapper json = new ObjectMapper();

    private HttpApi(HttpServer server, ThreadPoolExecutor executor, SinkStore store, Map<String, Program> programs,
            SinkMetrics metrics) {
        this.server = server;
        this.executor = executor;
        this.store = store;
        this.programs = Map.copyOf(programs);
        this.metrics = metrics;
    }

    /** Binds {@code host:port} (0 picks a free port) and starts serving. */
    public static HttpApi start(String host, int port, SinkStore store, Map<String, Program> programs, SinkMetrics metrics) {
        HttpServer server;
        try {
            server = HttpServer.create(new InetSocketAddress(host, port), 64);
        } catch (IOException e) {
            throw new UncheckedIOException("the HTTP API cannot listen on " + host + ":" + port
                    + " (http.host, http.port): " + e.getMessage(), e);
        }
        // Bounded: when all four threads are busy and 100 requests wait, the accepting thread runs the
        // next request itself, which slows down accepting instead of queueing without end.
        ThreadPoolExecutor executor = new ThreadPoolExecutor(1, 4, 30, TimeUnit.SECONDS,
                new ArrayBlockingQueue<>(100), NamedThreads.of("http"), new ThreadPoolExecutor.CallerRunsPolicy());
        HttpApi api = new HttpApi(server, executor, store, programs, metrics);
        server.setExecutor(executor);
        server.createContext(CARDS_API, api.guard(api::cardJson));
        server.createContext(CARDS_PAGE, api.guard(api::cardPage));
        server.createContext("/api/v1/metrics", api.guard(api::metricsJson));
        server.createContext(DEVICES_API, api::devices);
        server.createContext("/healthz", api.guard(ex -> send(ex, 200, TEXT, "ok\n")));
        server.createContext("/", api.guard(ex -> api.sendJson(ex, 404, Map.of("error", "no such resource: "
                + ex.getRequestURI().getPath()))));
        server.start();
        Logger.info("HTTP API listening on http://{}:{}", host, api.port());
        return api;
    }

    public int port() {
        return server.getAddress().getPort();
    }

    /** Adds routes of another part (operator, fleet...) under {@code path}; they do their own method checks. */
    public void route(String path, HttpHandler handler) {
        server.createContext(path, handler);
    }

    /** The card's vouchers, for the card JSON and page and for {@code GET /api/v1/cards/{id}/vouchers}. */
    public interface CardVouchers {
        /** What the customer may see of the card's vouchers. */
        List<Map<String, Object>> customerView(String cardId);

        /** Answers {@code GET /api/v1/cards/{id}/vouchers} (operator token checked there). */
        void operatorList(HttpExchange ex, String cardId) throws IOException;
    }

    /** Shows vouchers on cards from now on. */
    public void routeCardVouchers(CardVouchers vouchers) {
        cardVouchers = vouchers;
    }

    private List<Map<String, Object>> vouchersOf(String cardId) {
        CardVouchers v = cardVouchers;
        return v == null ? List.of() : v.customerView(cardId);
    }

    private void cardJson(HttpExchange ex) throws IOException {
        String id = ex.getRequestURI().getPath().substring(CARDS_API.length());
        CardVouchers vouchers = cardVouchers;
        if (vouchers != null && id.endsWith(VOUCHERS_SUFFIX)
                && CardCode.CARD_ID.matcher(id.substring(0, id.length() - VOUCHERS_SUFFIX.length())).matches()) {
            vouchers.operatorList(ex, id.substring(0, id.length() - VOUCHERS_SUFFIX.length()));
            return;
        }
        if (!CardCode.CARD_ID.matcher(id).matches()) {
            sendJson(ex, 400, Map.of("error", "'" + id + "' is not a card id; a card id matches " + CardCode.CARD_ID.pattern()));
            return;
        }
        Optional<StoredCard> card = store.card(id);
        if (card.isEmpty()) {
            sendJson(ex, 404, Map.of("error", "card " + id + " has no stamps yet"));
            return;
        }
        sendJson(ex, 200, CardView.of(card.get(), programs.get(card.get().programId()), vouchersOf(id)));
    }

    private void cardPage(HttpExchange ex) throws IOException {
        String id = ex.getRequestURI().getPath().substring(CARDS_PAGE.length());
        if (!CardCode.CARD_ID.matcher(id).matches()) {
            send(ex, 400, HTML, CardPage.message("Not a card", "This link does not name a loyalty card."));
            return;
        }
        Optional<StoredCard> card = store.card(id);
        if (card.isEmpty()) {
            send(ex, 404, HTML, CardPage.message("No stamps yet", "Card " + id + " has no stamps yet. "
                    + "Show it at the counter on your next visit."));
            return;
        }
        send(ex, 200, HTML, CardPage.render(CardView.of(card.get(), programs.get(card.get().programId()), vouchersOf(id))));
    }

    private void metricsJson(HttpExchange ex) throws IOException {
        Map<String, Long> out = new java.util.TreeMap<>(metrics.snapshot());
        long[] gaps = store.gapTotals();
        out.put("gapsOpen", gaps[0]);
        out.put("eventsMissing", gaps[1]);
        sendJson(ex, 200, out);
    }

    /** {@code {deviceId, lastSeq, missing, gaps: [{from, to, missing, detectedAt}]}}; lastSeq is null for an unknown device. */
    /**
     * Everything under {@code /api/v1/devices/}: the gaps route is served here, the rest goes to the
     * fleet registry's handler when fleet management is on ({@link #routeDevices}). One context, because
     * the JDK's server picks a single context by longest prefix.
     */
    private void devices(HttpExchange ex) throws IOException {
        HttpHandler fleet = devicesHandler;
        if (fleet != null && !GAPS_PATH.matcher(ex.getRequestURI().getPath()).matches()) {
            fleet.handle(ex);
        } else {
            guard(this::gapsJson).handle(ex);
        }
    }

    /** The fleet registry's routes {@code /api/v1/devices/{id}/...} (it checks methods and the token itself). */
    public void routeDevices(HttpHandler handler) {
        devicesHandler = handler;
    }

    private void gapsJson(HttpExchange ex) throws IOException {
        java.util.regex.Matcher m = GAPS_PATH.matcher(ex.getRequestURI().getPath());
        if (!m.matches()) {
            sendJson(ex, 404, Map.of("error", "no such resource: " + ex.getRequestURI().getPath()
                    + "; try /api/v1/devices/{deviceId}/gaps"));
            return;
        }
        String device = m.group(1);
        java.util.List<Map<String, Object>> gaps = new java.util.ArrayList<>();
        long missing = 0;
        for (SeqGap g : store.gaps(device)) {
            Map<String, Object> one = new java.util.LinkedHashMap<>();
            one.put("from", g.from());
            one.put("to", g.to());
            one.put("missing", g.missing());
            one.put("detectedAt", g.detectedAt().toString());
            gaps.add(one);
            // capped: gaps stored before their span was bounded can add up beyond a long
            missing = missing + g.missing() < 0 ? Long.MAX_VALUE : missing + g.missing();
        }
        Map<String, Object> body = new java.util.LinkedHashMap<>();
        body.put("deviceId", device);
        java.util.OptionalLong last = store.lastSeq(device);
        body.put("lastSeq", last.isPresent() ? last.getAsLong() : null);
        body.put("missing", missing);
        body.put("gaps", gaps);
        sendJson(ex, 200, body);
    }

    private interface Route {
        void handle(HttpExchange ex) throws IOException;
    }

    /** GET and HEAD only; an exception becomes a 500 (503 for the database) instead of a dropped connection. */
    private HttpHandler guard(Route route) {
        return ex -> {
            try (ex) {
                String method = ex.getRequestMethod();
                if (!method.equals("GET") && !method.equals("HEAD")) {
                    ex.getResponseHeaders().set("Allow", "GET, HEAD");
                    sendJson(ex, 405, Map.of("error", "method " + method + " is not allowed; use GET"));
                    return;
                }
                route.handle(ex);
            } catch (StoreException e) {
                Logger.error("HTTP {} {}: {}", ex.getRequestMethod(), ex.getRequestURI(), e.getMessage());
                trySend(ex, 503, "the card store is unavailable");
            } catch (IOException e) {
                Logger.debug("HTTP {} {}: client went away: {}", ex.getRequestMethod(), ex.getRequestURI(), e.getMessage());
            } catch (RuntimeException e) {
                Logger.error(e, "HTTP {} {} failed", ex.getRequestMethod(), ex.getRequestURI());
                trySend(ex, 500, "internal error");
            }
        };
    }

    private void trySend(HttpExchange ex, int status, String error) {
        try {
            sendJson(ex, status, Map.of("error", error));
        } catch (IOException | RuntimeException ignored) {
            Logger.debug("could not send the error response: {}", ignored.getMessage());
        }
    }

    private void sendJson(HttpExchange ex, int status, Object body) throws IOException {
        String text;
        try {
            text = json.writeValueAsString(body);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("cannot encode " + body.getClass().getSimpleName(), e);
        }
        send(ex, status, JSON, text);
    }

    private static void send(HttpExchange ex, int status, String type, String body) throws IOException {
        byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
        ex.getResponseHeaders().set("Content-Type", type);
        ex.getResponseHeaders().set("Cache-Control", "no-store");
        ex.getResponseHeaders().set("X-Content-Type-Options", "nosniff");
        if (ex.getRequestMethod().equals("HEAD")) {
            ex.sendResponseHeaders(status, -1);
            return;
        }
        ex.sendResponseHeaders(status, bytes.length);
        try (OutputStream out = ex.getResponseBody()) {
            out.write(bytes);
        }
    }

    /** Stops at once (requests in progress are cut), then lets the pool finish within 1 s. */
    @Override
    public void close() {
        server.stop(0);
        executor.shutdown();
        try {
            if (!executor.awaitTermination(1, TimeUnit.SECONDS)) {
                executor.shutdownNow();
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            executor.shutdownNow();
        }
        Logger.info("HTTP API stopped");
    }
}
