package app.sevenstamp.autopilot.sink;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import app.sevenstamp.autopilot.protocol.AckOutcome;
import app.sevenstamp.autopilot.protocol.DeviceStatus;
import app.sevenstamp.autopilot.protocol.Topics;
import app.sevenstamp.autopilot.protocol.WireCodec;
import app.sevenstamp.autopilot.protocol.testing.Vectors;
import app.sevenstamp.autopilot.sink.fleet.FleetRegistry;
import app.sevenstamp.autopilot.sink.fleet.FleetService;
import app.sevenstamp.autopilot.sink.testing.Scrape;
import app.sevenstamp.autopilot.sink.testing.MoquetteRetry;
import app.sevenstamp.autopilot.sink.testing.TestSink;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.eclipse.paho.client.mqttv3.MqttClient;
import org.eclipse.paho.client.mqttv3.persist.MemoryPersistence;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code GET /metrics} on a real sink: the ingest through the broker and the POS route, the fleet's retained
 * statuses, the store's dead letters, scraped and parsed as Prometheus text; its token; and label values that
 * stay bounded whatever paths and methods clients send.
 */
class MetricsEndpointIT {
    private static final String POS_KEY = "pos-key-for-shop-1-0123456789abcdef";
    private static final String METRICS_TOKEN = "metrics-token-0123456789abcdefghij";

    @TempDir
    Path dir;
    private final HttpClient http = HttpClient.newHttpClient();
    private final WireCodec codec = new WireCodec();

    private TestSink config() {
        return TestSink.in(dir).vectorKey().program("coffee", 10).set("pos.shop-1.apiKey", POS_KEY);
    }

    private HttpResponse<String> get(int port, String path, Map<String, String> headers) throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path)).GET();
        headers.forEach(b::header);
        return http.send(b.build(), HttpResponse.BodyHandlers.ofString());
    }

    private Scrape scrape(int port, String token) throws Exception {
        HttpResponse<String> r = get(port, "/metrics", token == null ? Map.of() : Map.of("Authorization", "Bearer " + token));
        assertEquals(200, r.statusCode(), r.body());
        assertEquals("text/plain; version=0.0.4; charset=utf-8", r.headers().firstValue("Content-Type").orElse(""));
        return Scrape.parse(r.body());
    }

    @Test
    void aScrapeShowsTheIngestTheRoutesTheFleetAndTheDeadLetters() throws Exception {
        try (SinkServer sink = config().set("metrics.token", METRICS_TOKEN).start()) {
            int port = sink.httpPort();
            HttpResponse<String> none = get(port, "/metrics", Map.of());
            assertEquals(401, none.statusCode());
            assertEquals("Bearer", none.headers().firstValue("WWW-Authenticate").orElse(""));
            assertEquals(401, get(port, "/metrics", Map.of("Authorization", "Bearer " + POS_KEY)).statusCode(),
                    "a till's key is not the metrics token");
            assertEquals(401, get(port, "/metrics", Map.of("Authorization", "Bearer " + METRICS_TOKEN + "x")).statusCode());

            Scrape empty = scrape(port, METRICS_TOKEN);
            assertEquals(0.0, empty.value("sevenstamp_ingest_events_total", "outcome", "accepted"));
            assertEquals(0.0, empty.value("sevenstamp_ingest_batch_events_count"));

            // one stamp by a till, one scan through the broker
            HttpResponse<String> pos = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/api/v1/stamps"))
                    .POST(HttpRequest.BodyPublishers.ofString("{\"cardCode\":\"" + Vectors.cardText("valid") + "\"}"))
                    .header("Authorization", "Bearer " + POS_KEY).header("Idempotency-Key", "till-1-receipt-1").build(),
                    HttpResponse.BodyHandlers.ofString());
            assertEquals(200, pos.statusCode(), pos.body());
            assertEquals(AckOutcome.ACCEPTED, VectorStore.stampGoldenEvent(sink.brokerUrl(), "metrics-gw").outcome());

            // two boxes; one reports a backlog of 7 in its retained status, as a gateway does
            FleetService fleet = sink.fleet();
            String claim = fleet.createClaim("shop-1", 2, Duration.ofDays(1)).token();
            for (String hw : new String[] {"hw-a", "hw-b"}) {
                assertTrue(fleet.registry().provision(claim, hw, null, null, Instant.now(), "hash",
                        loc -> "shop-1-" + hw) instanceof FleetRegistry.Granted);
            }
            Topics topics = new Topics(Topics.DEFAULT_PREFIX);
            // the embedded broker may drop this connection (MoquetteRetry): the box connects again and repeats its
            // retained status (idempotent); the junk goes only once
            int[] attempts = {0};
            MoquetteRetry.retry(() -> {
                MqttClient box = new MqttClient(sink.brokerUrl(), "shop-1-hw-a", new MemoryPersistence());
                try {
                    box.connect();
                    box.publish(topics.status("shop-1-hw-a"), codec.encode(new DeviceStatus(1, "shop-1-hw-a", true,
                            Instant.now(), "1.2.3", 1, 60, 7, 42, "ready", 1_000_000, Double.NaN)), 1, true);
                    if (attempts[0]++ == 0) {
                        box.publish(topics.stamps("counter-9"), "{not json".getBytes(StandardCharsets.UTF_8), 1, false);
                    }
                    box.disconnect(500);
                    return null;
                } finally {
                    box.close();
                }
            });
            await().atMost(Duration.ofSeconds(10)).until(() -> {
                Scrape s = scrape(port, METRICS_TOKEN);
                return s.value("sevenstamp_devices_online") == 1.0
                        && s.value("sevenstamp_dead_letters", "kind", "json") == 1.0;
            });

            HttpResponse<String> page = get(port, "/metrics", Map.of("Authorization", "Bearer " + METRICS_TOKEN));
            Files.writeString(Path.of("target", "metrics-scrape.txt"), page.body(), StandardCharsets.UTF_8); // for a look
            Scrape s = Scrape.parse(page.body());
            assertEquals(2.0, s.value("sevenstamp_ingest_events_total", "outcome", "accepted"), "the till's and the box's");
            assertEquals(0.0, s.value("sevenstamp_ingest_events_total", "outcome", "duplicate"));
            assertEquals(1.0, s.value("sevenstamp_ingest_events_total", "outcome", "malformed"));
            assertEquals(1.0, s.value("sevenstamp_ingest_malformed_events_total", "kind", "json"));
            assertEquals(0.0, s.value("sevenstamp_ingest_rejected_events_total", "reason", "TOO_SOON"));
            assertEquals("counter", s.type("sevenstamp_ingest_events"));
            // the MQTT ingest: two batches (the scan, the junk), one answer (junk gets none)
            assertEquals(2.0, s.value("sevenstamp_ingest_batch_events_count"));
            assertEquals(2.0, s.value("sevenstamp_ingest_batch_events_sum"));
            assertEquals(1.0, s.value("sevenstamp_ingest_ack_latency_seconds_count"));
            assertEquals(1.0, s.value("sevenstamp_ingest_ack_latency_seconds_bucket", "le", "+Inf"));
            assertTrue(s.value("sevenstamp_ingest_ack_latency_seconds_sum") > 0);
            assertEquals("histogram", s.type("sevenstamp_ingest_ack_latency_seconds"));
            // the till's request, by its route's template
            assertEquals(1.0, s.value("sevenstamp_http_request_duration_seconds_count",
                    "method", "POST", "route", "/api/v1/stamps", "status", "2xx"));
            assertTrue(s.value("sevenstamp_http_request_duration_seconds_count",
                    "method", "GET", "route", "/metrics", "status", "4xx") >= 3.0, "the refused scrapes");
            // store and fleet
            // the golden event's sequence number is past 1: the sink has a gap for counter-1
            long[] gaps = sink.store().gapTotals();
            assertEquals(1, gaps[0]);
            assertEquals(1.0, s.value("sevenstamp_gaps_open"));
            assertEquals((double) gaps[1], s.value("sevenstamp_events_missing"));
            assertTrue(gaps[1] > 0);
            assertEquals(1.0, s.value("sevenstamp_gaps_opened_total"));
            assertEquals("gauge", s.type("sevenstamp_gaps_open"));
            assertEquals(1.0, s.value("sevenstamp_devices_online"));
            assertEquals(2.0, s.value("sevenstamp_devices_known"));
            assertEquals(7.0, s.value("sevenstamp_device_backlog_events", "device", "shop-1-hw-a", "location", "shop-1"));
            assertEquals(42.0, s.value("sevenstamp_device_backlog_oldest_seconds", "device", "shop-1-hw-a", "location", "shop-1"));
            assertEquals(7.0, s.value("sevenstamp_backlog_events"));
            assertEquals(0.0, s.value("sevenstamp_device_series_dropped"));
            // included parts, named from their keys without this code knowing them
            assertEquals("counter", s.type("sevenstamp_vouchers_issued"));
            assertEquals("gauge", s.type("sevenstamp_vouchers_pos_codes_free"));
            assertEquals("counter", s.type("sevenstamp_fleet_provision_refusals"));
            // the MQTT connections (broker/MqttSession): whether each is up, and how often it connected
            assertEquals("gauge", s.type("sevenstamp_mqtt_ingest_open"));
            assertEquals(1.0, s.value("sevenstamp_mqtt_ingest_open"));
            assertEquals(1.0, s.value("sevenstamp_mqtt_redeem_open"));
            assertEquals("counter", s.type("sevenstamp_mqtt_fleet_lost"));
            assertTrue(s.value("sevenstamp_mqtt_fleet_connects_total") >= 1.0);
            // the H2 store's ingest redo log: its size and when a snapshot is due (the first start wrote one)
            assertEquals("gauge", s.type("sevenstamp_ingest_redo_size"));
            assertTrue(s.value("sevenstamp_ingest_redo_size") > 0);
            assertEquals(4.0 * 1024 * 1024, s.value("sevenstamp_ingest_redo_due_size"));
            assertEquals(0.0, s.value("sevenstamp_ingest_redo_snapshots_failed_total"));
            assertEquals("gauge", s.type("sevenstamp_store_disk_free"));
            double free = s.value("sevenstamp_store_disk_free");
            long actual = java.nio.file.Files.getFileStore(dir).getUsableSpace();
            assertTrue(Math.abs(free - actual) < 64 * 1024 * 1024, "the store's disk free: " + free + ", df says " + actual);
            // the JVM
            assertTrue(s.value("jvm_memory_used_bytes", "area", "heap") > 0);
            assertTrue(s.value("jvm_threads_current") > 0);
            everyDashboardQueryNamesASeriesTheSinkExposes(s);
        }
    }

    /**
     * docs/grafana/7stamp-sink.json is valid JSON, and every panel's queries name only series this scrape has: a
     * renamed series fails here, not on the operator's empty panel. (A {@code __name__=~"..."} matcher is a pattern
     * for series that may come later, such as the wallet's, and is not checked.)
     */
    private static void everyDashboardQueryNamesASeriesTheSinkExposes(Scrape s) throws Exception {
        JsonNode dashboard = new ObjectMapper().readTree(Path.of("..", "docs", "grafana", "7stamp-sink.json").toFile());
        Set<String> exposed = new TreeSet<>();
        s.samples().forEach(sample -> exposed.add(sample.name()));
        Pattern series = Pattern.compile("\\b(?:sevenstamp|jvm|process)_[a-z0-9_]+");
        Set<String> titles = new TreeSet<>();
        for (JsonNode panel : dashboard.get("panels")) {
            String title = panel.get("title").asText();
            titles.add(title);
            int named = 0;
            for (JsonNode target : panel.get("targets")) {
                Matcher m = series.matcher(target.get("expr").asText().replaceAll("__name__=~\"[^\"]*\"", ""));
                while (m.find()) {
                    assertTrue(exposed.contains(m.group()), "panel '" + title + "' asks for " + m.group()
                            + ", which the sink does not expose");
                    named++;
                }
            }
            assertTrue(named > 0, "panel '" + title + "' names no series");
        }
        for (String wanted : new String[] {"Ingest rate by outcome", "Acknowledgement latency (MQTT ingest)", "Dead letters",
                "Sequence gaps", "Devices online", "Backlog on the boxes", "HTTP p99 by route"}) {
            assertTrue(titles.contains(wanted), "the dashboard has no panel '" + wanted + "': " + titles);
        }
    }

    @Test
    void aThousandPathsAndOddMethodsMakeNoNewLabelValues() throws Exception {
        try (SinkServer sink = config().start()) {
            int port = sink.httpPort();
            for (int i = 0; i < 500; i++) {
                assertEquals(404, get(port, "/no/such/path/" + i, Map.of()).statusCode());
                assertEquals(400, get(port, "/api/v1/cards/not-a-card-" + i, Map.of()).statusCode());
            }
            for (int i = 0; i < 20; i++) {
                HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/healthz"))
                        .method("BREW" + i, HttpRequest.BodyPublishers.noBody()).build(), HttpResponse.BodyHandlers.ofString());
                assertEquals(405, r.statusCode());
            }
            Scrape s = scrape(port, null); // no metrics.token: public, like /api/v1/metrics
            assertEquals(500.0, s.value("sevenstamp_http_request_duration_seconds_count",
                    "method", "GET", "route", "unmatched", "status", "4xx"));
            assertEquals(500.0, s.value("sevenstamp_http_request_duration_seconds_count",
                    "method", "GET", "route", "/api/v1/cards/{cardId}", "status", "4xx"));
            assertEquals(20.0, s.value("sevenstamp_http_request_duration_seconds_count",
                    "method", "other", "route", "unmatched", "status", "4xx"));
            Set<String> routes = new TreeSet<>(s.labelValues("sevenstamp_http_request_duration_seconds_count", "route"));
            assertEquals(Set.of("unmatched", "/api/v1/cards/{cardId}"), routes, "no path became a label value");
            assertEquals(Set.of("GET", "other"), new TreeSet<>(s.labelValues("sevenstamp_http_request_duration_seconds_count",
                    "method")));

            // OpenMetrics when the scraper asks for it; the library's writer decides
            HttpResponse<String> om = get(port, "/metrics", Map.of("Accept", "application/openmetrics-text; version=1.0.0"));
            assertTrue(om.headers().firstValue("Content-Type").orElse("").startsWith("application/openmetrics-text"),
                    om.headers().toString());
            assertTrue(om.body().endsWith("# EOF\n"), "OpenMetrics ends with # EOF");
        }
    }
}
