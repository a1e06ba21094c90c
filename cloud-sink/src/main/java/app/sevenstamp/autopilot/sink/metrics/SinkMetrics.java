package app.sevenstamp.autopilot.sink.metrics;

import app.sevenstamp.autopilot.protocol.RejectReason;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Supplier;
import java.util.concurrent.atomic.LongAdder;

/**
 * Counters of what the ingest did since start. Thread-safe; written by the ingest thread, read
 * by anyone (tests, the HTTP API). Each event counts under exactly one of accepted, duplicates,
 * rejected and malformed.
 */
public final class SinkMetrics {
    /** Malformed kind for an event whose device id differs from the one in its topic. */
    public static final String TOPIC_MISMATCH = "topic";

    private final LongAdder accepted = new LongAdder();
    private final LongAdder duplicates = new LongAdder();
    private final LongAdder rejected = new LongAdder();
    private final LongAdder malformed = new LongAdder();
    private final LongAdder acksNotSent = new LongAdder();
    private final LongAdder shed = new LongAdder();
    private final LongAdder gapsOpened = new LongAdder();
    private final LongAdder gapsFilled = new LongAdder();
    private final Map<RejectReason, LongAdder> rejectedByReason = new ConcurrentHashMap<>();
    private final Map<String, LongAdder> malformedByKind = new ConcurrentHashMap<>();
    private final Map<String, LongAdder> flaggedByKind = new ConcurrentHashMap<>();
    private final List<Supplier<Map<String, Long>>> parts = new CopyOnWriteArrayList<>();
    private volatile IngestTimings timings = IngestTimings.NONE;

    /**
     * Adds another part's counters (vouchers...) to {@link #snapshot()}; their names carry the part's prefix.
     * {@code GET /metrics} shows each key as a Prometheus counter ({@code wallet.sent} as
     * {@code sevenstamp_wallet_sent_total}), except a level whose last word is one of
     * {@code pending, free, open, queued, depth, level, size, last, max, min}: a gauge (docs/metrics.md).
     */
    public void include(Supplier<Map<String, Long>> counters) {
        parts.add(counters);
    }

    /** What the included parts count right now, without the ingest's own counters. */
    public Map<String, Long> parts() {
        Map<String, Long> out = new TreeMap<>();
        parts.forEach(p -> out.putAll(p.get()));
        return out;
    }

    /** Where the ingest reports its batches and answer times: the Prometheus histograms, or nothing. */
    public interface IngestTimings {
        IngestTimings NONE = new IngestTimings() {
            @Override
            public void batch(int events) {
            }

            @Override
            public void answered(long nanosSinceArrival) {
            }
        };

        /** One batch decided in one transaction. */
        void batch(int events);

        /** One answer handed to the MQTT client, this long after its event arrived. */
        void answered(long nanosSinceArrival);
    }

    public void timings(IngestTimings t) {
        timings = java.util.Objects.requireNonNull(t, "timings");
    }

    public IngestTimings timings() {
        return timings;
    }

    /** Applied: a new stamp or redemption. */
    public long accepted() {
        return accepted.sum();
    }

    /** Redeliveries of events applied before, answered and not counted again. */
    public long duplicates() {
        return duplicates.sum();
    }

    /** Decodable events refused with a reason (bad signature, unknown program...), recorded and acknowledged. */
    public long rejected() {
        return rejected.sum();
    }

    public long rejected(RejectReason reason) {
        LongAdder n = rejectedByReason.get(reason);
        return n == null ? 0 : n.sum();
    }

    /** Payloads that are not a usable stamp event; neither recorded nor acknowledged. */
    public long malformed() {
        return malformed.sum();
    }

    /** By {@code MalformedMessageException.kind()} ({@code json}, {@code schema}, {@code size}, {@code field}) or {@link #TOPIC_MISMATCH}. */
    public long malformed(String kind) {
        LongAdder n = malformedByKind.get(kind);
        return n == null ? 0 : n.sum();
    }

    /** Acknowledgements that could not be handed to the MQTT client (disconnected); the gateway redelivers. */
    public long acksNotSent() {
        return acksNotSent.sum();
    }

    /**
     * Events let go unread because the ingest queue was full (PUBACKed, never answered): the gateway sends
     * each again after its ack timeout. Non-zero means the sink is behind its broker's in-flight window.
     */
    public long shed() {
        return shed.sum();
    }

    /** Every counter by name, for the HTTP API and logs. */
    public Map<String, Long> snapshot() {
        Map<String, Long> out = new TreeMap<>();
        out.put("accepted", accepted());
        out.put("duplicates", duplicates());
        out.put("rejected", rejected());
        out.put("malformed", malformed());
        out.put("acksNotSent", acksNotSent());
        out.put("shed", shed());
        out.put("gapsOpened", gapsOpened.sum());
        out.put("gapsFilled", gapsFilled.sum());
        rejectedByReason.forEach((reason, n) -> out.put("rejected." + reason.name(), n.sum()));
        malformedByKind.forEach((kind, n) -> out.put("malformed." + kind, n.sum()));
        flaggedByKind.forEach((flag, n) -> out.put("flagged." + flag, n.sum()));
        parts.forEach(p -> out.putAll(p.get()));
        return out;
    }

    public void countAccepted() {
        accepted.increment();
    }

    public void countDuplicate() {
        duplicates.increment();
    }

    public void countRejected(RejectReason reason) {
        rejected.increment();
        rejectedByReason.computeIfAbsent(reason, r -> new LongAdder()).increment();
    }

    public void countMalformed(String kind) {
        malformed.increment();
        malformedByKind.computeIfAbsent(kind, k -> new LongAdder()).increment();
    }

    /** Accepted events flagged for an operator (e.g. {@code IMPOSSIBLE_TRAVEL}), by flag. */
    public long flagged(String flag) {
        LongAdder n = flaggedByKind.get(flag);
        return n == null ? 0 : n.sum();
    }

    public void countFlagged(String flag) {
        flaggedByKind.computeIfAbsent(flag, k -> new LongAdder()).increment();
    }

    /** Sequence gaps detected since start (see {@code GET /api/v1/devices/{id}/gaps} for the open ones). */
    public long gapsOpened() {
        return gapsOpened.sum();
    }

    /** Late events that filled (part of) a gap since start. */
    public long gapsFilled() {
        return gapsFilled.sum();
    }

    public void countGapOpened() {
        gapsOpened.increment();
    }

    public void countGapFilled() {
        gapsFilled.increment();
    }

    public void countAckNotSent() {
        acksNotSent.increment();
    }

    public void countShed() {
        shed.increment();
    }
}
