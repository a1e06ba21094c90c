package app.sevenstamp.autopilot.sink.metrics;

import app.sevenstamp.autopilot.protocol.DeviceStatus;
import app.sevenstamp.autopilot.protocol.MalformedMessageException;
import app.sevenstamp.autopilot.protocol.RejectReason;
import app.sevenstamp.autopilot.protocol.WireCodec;
import app.sevenstamp.autopilot.sink.fleet.FleetRegistry;
import app.sevenstamp.autopilot.sink.store.DeadLetters;
import app.sevenstamp.autopilot.sink.store.SinkStore;
import io.prometheus.metrics.model.registry.MultiCollector;
import io.prometheus.metrics.model.snapshots.CounterSnapshot;
import io.prometheus.metrics.model.snapshots.CounterSnapshot.CounterDataPointSnapshot;
import io.prometheus.metrics.model.snapshots.GaugeSnapshot;
import io.prometheus.metrics.model.snapshots.GaugeSnapshot.GaugeDataPointSnapshot;
import io.prometheus.metrics.model.snapshots.Labels;
import io.prometheus.metrics.model.snapshots.MetricSnapshot;
import io.prometheus.metrics.model.snapshots.MetricSnapshots;
import io.prometheus.metrics.model.snapshots.Unit;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.LongAdder;
import java.util.regex.Pattern;
import org.tinylog.Logger;

/**
 * What the sink already knows, read at scrape time and turned into Prometheus series: the ingest counters of
 * {@link SinkMetrics} (bridged, never counted twice), the counters every included part adds
 * ({@link SinkMetrics#include}: vouchers, fleet, wallet pushes...) under names derived from their keys, dead
 * letters and sequence gaps from the store, and devices online and the backlog each box reports in its
 * retained status from the fleet registry.
 *
 * <p>Label values are bounded: reasons are an enum, malformed kinds and flags a handful of constants, and the
 * per-device backlog series stop at {@link #DEVICE_SERIES} devices (those with the largest backlog; the
 * number left out is {@code sevenstamp_device_series_dropped}). The total backlog covers every device.
 *
 * <p>A store or registry read that fails leaves its series out of that scrape and counts
 * {@code sevenstamp_scrape_errors_total}; the ingest counters are exposed whatever the store does.
 * Thread-safe: it holds nothing but the error counters.
 */
public final class SinkCollector implements MultiCollector {
    /** At most this many devices get series of their own; beyond it Prometheus would hold a series per box for ever. */
    public static final int DEVICE_SERIES = 1000;
    /** A part's key whose last word is one of these is a level that goes down too: a gauge, not a counter. */
    static final Set<String> LEVEL_WORDS = Set.of("pending", "free", "open", "queued", "depth", "level", "size", "last",
            "max", "min");
    private static final Pattern CAMEL = Pattern.compile("([a-z0-9])([A-Z])");
    private static final Pattern NOT_NAME = Pattern.compile("[^a-z0-9_]+");
    private static final String PREFIX = "sevenstamp_";

    private final SinkMetrics metrics;
    private final SinkStore store;
    private final DeadLetters deadLetters;
    private final FleetRegistry fleet;
    private final WireCodec codec = new WireCodec();
    private final Map<String, LongAdder> errors = new ConcurrentHashMap<>();
    private final Set<String> warned = ConcurrentHashMap.newKeySet();
    private final Set<String> failing = ConcurrentHashMap.newKeySet();

    public SinkCollector(SinkMetrics metrics, SinkStore store, FleetRegistry fleet) {
        this.metrics = metrics;
        this.store = store;
        this.deadLetters = new DeadLetters(store);
        this.fleet = fleet;
    }

    @Override
    public MetricSnapshots collect() {
        List<MetricSnapshot> out = new ArrayList<>();
        ingest(metrics.snapshot(), out);
        read("store", out, this::store);
        read("fleet", out, this::fleet);
        parts(out);
        CounterSnapshot.Builder scrapeErrors = CounterSnapshot.builder().name("sevenstamp_scrape_errors")
                .help("Reads of the store or the fleet registry that failed during a scrape; their series were left out");
        for (String source : List.of("store", "fleet")) {
            LongAdder n = errors.get(source);
            scrapeErrors.dataPoint(counter(n == null ? 0 : n.sum(), "source", source));
        }
        out.add(scrapeErrors.build());
        return new MetricSnapshots(out);
    }

    private void ingest(Map<String, Long> snap, List<MetricSnapshot> out) {
        out.add(CounterSnapshot.builder().name("sevenstamp_ingest_events")
                .help("Stamp events by outcome, MQTT and POS together; each event counts under exactly one outcome")
                .dataPoint(counter(metrics.accepted(), "outcome", "accepted"))
                .dataPoint(counter(metrics.duplicates(), "outcome", "duplicate"))
                .dataPoint(counter(metrics.rejected(), "outcome", "rejected"))
                .dataPoint(counter(metrics.malformed(), "outcome", "malformed")).build());
        CounterSnapshot.Builder rejected = CounterSnapshot.builder().name("sevenstamp_ingest_rejected_events")
                .help("Rejected stamp events by reason");
        for (RejectReason r : RejectReason.values()) {
            rejected.dataPoint(counter(metrics.rejected(r), "reason", r.name()));
        }
        out.add(rejected.build());
        out.add(byKey(snap, "malformed.", "sevenstamp_ingest_malformed_events", "kind",
                "Messages that are no usable stamp event, parked as dead letters, by kind (json, schema, size, field, topic, apply...)"));
        out.add(byKey(snap, "flagged.", "sevenstamp_ingest_flagged_events", "flag",
                "Accepted events flagged for an operator, by flag"));
        out.add(CounterSnapshot.builder().name("sevenstamp_ingest_acks_not_sent")
                .help("Acknowledgements that could not be handed to the MQTT client; the gateway sends the event again")
                .dataPoint(counter(metrics.acksNotSent())).build());
        out.add(CounterSnapshot.builder().name("sevenstamp_ingest_shed_events")
                .help("Events let go because the ingest queue was full (never answered); the gateway sends each again")
                .dataPoint(counter(metrics.shed())).build());
        out.add(CounterSnapshot.builder().name("sevenstamp_gaps_opened")
                .help("Sequence gaps detected since start").dataPoint(counter(metrics.gapsOpened())).build());
        out.add(CounterSnapshot.builder().name("sevenstamp_gaps_filled")
                .help("Late events that filled (part of) a gap since start").dataPoint(counter(metrics.gapsFilled())).build());
    }

    private static CounterSnapshot byKey(Map<String, Long> snap, String prefix, String name, String label, String help) {
        CounterSnapshot.Builder b = CounterSnapshot.builder().name(name).help(help);
        snap.forEach((key, n) -> {
            if (key.startsWith(prefix)) {
                b.dataPoint(counter(n, label, key.substring(prefix.length())));
            }
        });
        return b.build();
    }

    private void store(List<MetricSnapshot> out) {
        long[] gaps = store.gapTotals();
        out.add(GaugeSnapshot.builder().name("sevenstamp_gaps_open")
                .help("Open sequence gaps over all devices: events a box numbered that the sink never received")
                .dataPoint(gauge(gaps[0])).build());
        out.add(GaugeSnapshot.builder().name("sevenstamp_events_missing")
                .help("Events missing in the open sequence gaps over all devices").dataPoint(gauge(gaps[1])).build());
        GaugeSnapshot.Builder dead = GaugeSnapshot.builder().name("sevenstamp_dead_letters")
                .help("Messages parked in the store as dead letters, by kind (GET /api/v1/admin/dead-letters)");
        deadLetters.countByKind().forEach((kind, n) -> dead.dataPoint(gauge(n, "kind", kind)));
        out.add(dead.build());
    }

    /** One box's backlog as its last retained status says. */
    private record Backlog(String device, String location, long events, long oldestSeconds) {
    }

    private void fleet(List<MetricSnapshot> out) {
        long online = 0;
        long known = 0;
        long total = 0;
        List<Backlog> backlogs = new ArrayList<>();
        for (FleetRegistry.Device d : fleet.devices()) {
            if (d.revoked()) {
                continue;
            }
            known++;
            if (d.online()) {
                online++;
            }
            if (d.lastStatus() == null) {
                continue;
            }
            try {
                DeviceStatus s = codec.decodeStatus(d.lastStatus().getBytes(java.nio.charset.StandardCharsets.UTF_8));
                // an offline box's status is its last will, which carries no backlog: 0 until it reports again
                backlogs.add(new Backlog(d.deviceId(), d.location() == null ? "" : d.location(), s.backlog(),
                        s.oldestUnsentAgeSeconds()));
                total += s.backlog();
            } catch (MalformedMessageException e) {
                Logger.debug("metrics: the status of {} is not readable: {}", d.deviceId(), e.getMessage());
            }
        }
        out.add(GaugeSnapshot.builder().name("sevenstamp_devices_online")
                .help("Boxes whose retained status says online").dataPoint(gauge(online)).build());
        out.add(GaugeSnapshot.builder().name("sevenstamp_devices_known")
                .help("Provisioned boxes that are not revoked").dataPoint(gauge(known)).build());
        out.add(GaugeSnapshot.builder().name("sevenstamp_backlog_events")
                .help("Stamp events stored on all boxes and not yet acknowledged by the sink, as their statuses report")
                .dataPoint(gauge(total)).build());
        backlogs.sort(Comparator.comparingLong(Backlog::events).reversed().thenComparing(Backlog::device));
        List<Backlog> shown = backlogs.subList(0, Math.min(DEVICE_SERIES, backlogs.size()));
        GaugeSnapshot.Builder events = GaugeSnapshot.builder().name("sevenstamp_device_backlog_events")
                .help("Stamp events a box holds that the sink has not acknowledged, from its retained status (the "
                        + DEVICE_SERIES + " boxes with the largest backlog)");
        GaugeSnapshot.Builder age = GaugeSnapshot.builder().name("sevenstamp_device_backlog_oldest_seconds").unit(Unit.SECONDS)
                .help("Age of the oldest event a box has not had acknowledged, from its retained status");
        for (Backlog b : shown) {
            events.dataPoint(gauge(b.events(), "device", b.device(), "location", b.location()));
            age.dataPoint(gauge(b.oldestSeconds(), "device", b.device(), "location", b.location()));
        }
        out.add(events.build());
        out.add(age.build());
        out.add(GaugeSnapshot.builder().name("sevenstamp_device_series_dropped")
                .help("Boxes left out of the per-device series (beyond " + DEVICE_SERIES + ")")
                .dataPoint(gauge(backlogs.size() - shown.size())).build());
    }

    /** The included parts' keys, each its own series: a counter, or a gauge for a level ({@link #LEVEL_WORDS}). */
    private void parts(List<MetricSnapshot> out) {
        Set<String> taken = new HashSet<>();
        out.forEach(s -> taken.add(s.getMetadata().getName()));
        metrics.parts().forEach((key, n) -> {
            String name = PREFIX + promName(key);
            if (!taken.add(name)) {
                warnOnce(key, "metrics: {} would be {} a second time; left out", key, name);
                return;
            }
            String help = "SinkMetrics " + key;
            try {
                out.add(level(key) ? GaugeSnapshot.builder().name(name).help(help).dataPoint(gauge(n)).build()
                        : CounterSnapshot.builder().name(name).help(help).dataPoint(counter(n)).build());
            } catch (IllegalArgumentException e) {
                warnOnce(key, "metrics: {} cannot be named {}: {}; left out", key, name, e.getMessage());
            }
        });
    }

    /** {@code wallet.latencyMsLast} is {@code wallet_latency_ms_last}, {@code vouchers.redeem.ALREADY_REDEEMED} {@code vouchers_redeem_already_redeemed}. */
    static String promName(String key) {
        String snake = CAMEL.matcher(key).replaceAll("$1_$2").toLowerCase(Locale.ROOT);
        return NOT_NAME.matcher(snake).replaceAll("_");
    }

    static boolean level(String key) {
        String name = promName(key);
        return LEVEL_WORDS.contains(name.substring(name.lastIndexOf('_') + 1));
    }

    private interface Read {
        void into(List<MetricSnapshot> out);
    }

    private void read(String source, List<MetricSnapshot> out, Read read) {
        List<MetricSnapshot> part = new ArrayList<>();
        try {
            read.into(part);
            out.addAll(part);
            if (failing.remove(source)) {
                Logger.info("metrics: the {} can be read again", source);
            }
        } catch (RuntimeException e) {
            errors.computeIfAbsent(source, s -> new LongAdder()).increment();
            // once per outage: Prometheus asks every 15 s, and the store's failure is logged where it matters
            if (failing.add(source)) {
                Logger.warn("metrics: reading the {} failed, its series are left out until it works again: {}", source,
                        e.getMessage());
            } else {
                Logger.debug("metrics: reading the {} failed again: {}", source, e.getMessage());
            }
        }
    }

    private void warnOnce(String key, String text, Object... args) {
        if (warned.add(key)) {
            Logger.warn(text, args);
        }
    }

    private static CounterDataPointSnapshot counter(double value, String... labels) {
        return CounterDataPointSnapshot.builder().value(value).labels(Labels.of(labels)).build();
    }

    private static GaugeDataPointSnapshot gauge(double value, String... labels) {
        return GaugeDataPointSnapshot.builder().value(value).labels(Labels.of(labels)).build();
    }
}
