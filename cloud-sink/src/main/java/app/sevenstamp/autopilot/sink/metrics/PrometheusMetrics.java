package app.sevenstamp.autopilot.sink.metrics;

import app.sevenstamp.autopilot.sink.web.Access;
import app.sevenstamp.autopilot.sink.web.Exchange;
import app.sevenstamp.autopilot.sink.web.Problem;
import app.sevenstamp.autopilot.sink.web.Router;
import io.prometheus.metrics.config.PrometheusProperties;
import io.prometheus.metrics.core.metrics.Histogram;
import io.prometheus.metrics.expositionformats.ExpositionFormatWriter;
import io.prometheus.metrics.expositionformats.ExpositionFormats;
import io.prometheus.metrics.instrumentation.jvm.JvmMetrics;
import io.prometheus.metrics.model.registry.MultiCollector;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import io.prometheus.metrics.model.snapshots.MetricSnapshot;
import io.prometheus.metrics.model.snapshots.MetricSnapshots;
import io.prometheus.metrics.model.snapshots.Unit;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * {@code GET /metrics} in the Prometheus text format (or OpenMetrics, when the scraper asks for it), written
 * by the Prometheus Java client library. Its own registry (never the library's static default one, so two
 * sinks in one JVM, as in the tests, do not mix) holds:
 * <ul>
 * <li>three histograms fed as things happen: the ingest's batch sizes and answer latency
 *     ({@link SinkMetrics.IngestTimings}) and every HTTP request by route template ({@link Router.RouteObserver});</li>
 * <li>{@link SinkCollector}, which reads the ingest counters, the store and the fleet at scrape time;</li>
 * <li>the JVM's memory, GC, threads and class loading ({@code jvm_*}, {@code process_*}).</li>
 * </ul>
 * Library settings come from nothing but this class: no {@code prometheus.properties} file or system
 * property changes what the sink exposes.
 *
 * <p>Thread-safe: the histograms are the library's lock-free ones, observed from the ingest thread and the
 * HTTP threads; a scrape runs on an HTTP thread.
 */
public final class PrometheusMetrics implements SinkMetrics.IngestTimings, Router.RouteObserver {
    /** Methods kept as a label value; anything else a client sends is {@code other}, or the label would be unbounded. */
    private static final Set<String> METHODS = Set.of("GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS");
    /** The route label of a request no route matched (404, 405): never the path itself. */
    static final String UNMATCHED = "unmatched";

    private final PrometheusRegistry registry = new PrometheusRegistry();
    private final ExpositionFormats formats;
    private final byte[] token;
    private final Histogram batches;
    private final Histogram answers;
    private final Histogram http;

    /**
     * @param token {@code metrics.token}, or null for a public {@code /metrics}
     * @param sink  what is read at scrape time
     */
    public PrometheusMetrics(String token, MultiCollector sink) {
        PrometheusProperties properties = PrometheusProperties.builder().build();
        this.formats = ExpositionFormats.init(properties);
        this.token = token == null ? null : ("Bearer " + token).getBytes(StandardCharsets.UTF_8);
        this.batches = Histogram.builder(properties).name("sevenstamp_ingest_batch_events")
                .help("Events decided in one transaction by the MQTT ingest")
                .classicOnly().classicUpperBounds(1, 2, 5, 10, 20, 50, 100, 256).withoutExemplars().build();
        this.answers = Histogram.builder(properties).name("sevenstamp_ingest_ack_latency_seconds").unit(Unit.SECONDS)
                .help("From a stamp event's arrival from the broker to its acknowledgement handed to the MQTT client")
                .classicOnly().classicUpperBounds(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)
                .withoutExemplars().build();
        this.http = Histogram.builder(properties).name("sevenstamp_http_request_duration_seconds").unit(Unit.SECONDS)
                .help("HTTP requests by route template (not the path), method and status class, to the answer handed to Jetty")
                .labelNames("route", "method", "status")
                .classicOnly().classicUpperBounds(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)
                .withoutExemplars().build();
        registry.register(batches);
        registry.register(answers);
        registry.register(http);
        registry.register(sink);
    }

    /**
     * The JVM's series, registered once per JVM: the library keeps every registry it instruments in a static set
     * for ever and adds a GC listener each time, so a registry per sink would keep every stopped sink (tests start
     * dozens in one JVM) and its store alive. The JVM is the same for all of them anyway.
     */
    private static final class Jvm {
        static final PrometheusRegistry REGISTRY = new PrometheusRegistry();

        static {
            JvmMetrics.builder(PrometheusProperties.builder().build()).register(REGISTRY);
        }
    }

    /** Serves {@code GET /metrics} on the router and observes every request it answers. */
    public void register(Router router) {
        router.get("/metrics", Access.PUBLIC, this::scrape);
        router.observe(this);
    }

    @Override
    public void batch(int events) {
        batches.observe(events);
    }

    @Override
    public void answered(long nanosSinceArrival) {
        answers.observe(Unit.nanosToSeconds(nanosSinceArrival));
    }

    @Override
    public void observed(String template, String method, int status, long nanos) {
        http.labelValues(template == null ? UNMATCHED : template, METHODS.contains(method) ? method : "other",
                status / 100 + "xx").observe(Unit.nanosToSeconds(nanos));
    }

    /** The text the scraper gets, in the format its {@code Accept} asks for (the library's writer decides). */
    private void scrape(Exchange ex) {
        if (token != null) {
            String given = ex.header("Authorization");
            // constant time, as every other key of the sink (Credentials)
            if (given == null || !MessageDigest.isEqual(token, given.getBytes(StandardCharsets.UTF_8))) {
                throw new Problem(401, "this route needs the metrics token: 'Authorization: Bearer <metrics.token>'",
                        Map.of("WWW-Authenticate", "Bearer"));
            }
        }
        ExpositionFormatWriter writer = formats.findWriter(ex.header("Accept"));
        if (!writer.isAvailable()) {
            writer = formats.getPrometheusTextFormatWriter(); // protobuf asked for, but its module is not on the class path
        }
        ByteArrayOutputStream out = new ByteArrayOutputStream(16 * 1024);
        try {
            List<MetricSnapshot> all = new ArrayList<>();
            registry.scrape().forEach(all::add);
            Jvm.REGISTRY.scrape().forEach(all::add);
            writer.write(out, new MetricSnapshots(all));
        } catch (IOException e) {
            throw new IllegalStateException("writing to memory failed", e);
        }
        ex.send(200, writer.getContentType(), out.toByteArray());
    }
}
