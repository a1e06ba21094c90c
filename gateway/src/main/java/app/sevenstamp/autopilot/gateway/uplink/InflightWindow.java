package app.sevenstamp.autopilot.gateway.uplink;

import app.sevenstamp.autopilot.gateway.outbox.StoredEvent;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.OptionalLong;

/**
 * The events published and not yet acknowledged by the sink (a broker PUBACK does not count), at most
 * {@code capacity} of them, in sequence order. Not thread-safe; owned by the uplink thread.
 */
final class InflightWindow {

    /** One event on its way: when it was scanned (to time a reward chime) and when it was sent. */
    record Entry(long seq, String bootId, long scannedAtNanos, long sentAtNanos) {
    }

    private final int capacity;
    private LinkedHashMap<String, Entry> entries = new LinkedHashMap<>();
    /**
     * What the connection before was waiting for, until the next {@link #resendAll()}: the broker delivers the
     * acks of the kept session's earlier connection after a reconnect, and the outbox deletes a row by its
     * number, which only an entry knows.
     */
    private Map<String, Entry> previous = new LinkedHashMap<>(); // removed from, like every map it takes over
    private long lastSentSeq;

    InflightWindow(int capacity) {
        this.capacity = capacity;
    }

    int room() {
        return capacity - entries.size();
    }

    int size() {
        return entries.size();
    }

    /** The highest sequence number sent since the last {@link #resendAll()}; the next read starts after it. */
    long lastSentSeq() {
        return lastSentSeq;
    }

    void sent(StoredEvent event, long nowNanos) {
        entries.put(event.eventId(), new Entry(event.seq(), event.bootId(), event.monotonicNanos(), nowNanos));
        lastSentSeq = Math.max(lastSentSeq, event.seq());
    }

    /** An event read from the outbox but not sent (the sink has it already): the next read starts after it too. */
    void skipped(long seq) {
        lastSentSeq = Math.max(lastSentSeq, seq);
    }

    /**
     * The entry of an acknowledged event, in flight on this connection or the one before, or null when it was not
     * (an ack to an earlier process, or a second ack).
     */
    Entry acked(String eventId) {
        Entry entry = entries.remove(eventId);
        return entry != null ? entry : previous.remove(eventId);
    }

    /**
     * When the longest-waiting event was sent, if any. The map keeps insertion order and an entry is
     * inserted only when it is sent (never re-sent without {@link #resendAll()} clearing it first), so
     * the first entry is the oldest: O(1), where a scan of the window ran for every event the uplink
     * handled (JFR of the drain, docs/perf/drain-and-writes.md).
     */
    OptionalLong oldestSentAt() {
        if (entries.isEmpty()) {
            return OptionalLong.empty();
        }
        return OptionalLong.of(entries.values().iterator().next().sentAtNanos());
    }

    /** Forgets what was sent, so that everything still in the outbox is sent again from the start. */
    void resendAll() {
        previous = entries;
        entries = new LinkedHashMap<>();
        lastSentSeq = 0;
    }

    Map<String, Entry> view() {
        return Map.copyOf(entries);
    }
}
