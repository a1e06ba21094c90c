package app.sevenstamp.autopilot.gateway.uplink;

import app.sevenstamp.autopilot.protocol.support.Backoff;
import java.time.Duration;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.OptionalLong;
import java.util.Set;

/**
 * Events the sink acknowledged that are still in the outbox: their delete is under way, or it failed (a
 * write error, a full disk) and is retried after a jittered, growing wait. Without this a failed delete
 * was retried only after the next reconnect, when the event was sent again; the sink already has these
 * events, so they are not published again while they wait (a resend would only be acked DUPLICATE).
 *
 * <p>Not thread-safe; owned by the uplink thread. Times are {@code Ticker} nanoseconds.
 */
final class UndeletedAcks {
    private final Backoff backoff;
    /** A delete was asked for and has not answered yet. */
    private final Set<String> deleting = new HashSet<>();
    /** The delete failed; asked again at {@link #retryAt}. By event id, the event's seq. */
    private final Map<String, Long> waiting = new LinkedHashMap<>();
    private long retryAt;

    /** An acknowledged event: its sequence number (how the outbox finds it) and id. */
    record Acked(long seq, String eventId) {
    }

    UndeletedAcks(Backoff backoff) {
        this.backoff = backoff;
    }

    /** A delete of {@code eventId} was asked for. */
    void deleting(String eventId) {
        deleting.add(eventId);
    }

    /** The delete answered (found or not): the outbox works, the next failure waits the shortest time again. */
    void deleted(String eventId) {
        deleting.remove(eventId);
        waiting.remove(eventId);
        backoff.reset();
    }

    /**
     * The delete failed. Returns the wait before the retry when this failure schedules it, or null when it
     * joins a retry already scheduled (a batch failing together grows the wait once).
     */
    Duration failed(long seq, String eventId, long nowNanos) {
        deleting.remove(eventId);
        boolean schedule = waiting.isEmpty();
        waiting.put(eventId, seq);
        if (!schedule) {
            return null;
        }
        Duration wait = backoff.next();
        retryAt = nowNanos + wait.toNanos();
        return wait;
    }

    /** Acknowledged and not yet deleted: must not be published again. */
    boolean holds(String eventId) {
        return deleting.contains(eventId) || waiting.containsKey(eventId);
    }

    /** When the next retry is due, if one is scheduled. */
    OptionalLong retryAt() {
        return waiting.isEmpty() ? OptionalLong.empty() : OptionalLong.of(retryAt);
    }

    /** The events whose delete is to be asked for again now; empty before the retry is due. */
    List<Acked> due(long nowNanos) {
        if (waiting.isEmpty() || nowNanos - retryAt < 0) {
            return List.of();
        }
        List<Acked> due = waiting.entrySet().stream().map(e -> new Acked(e.getValue(), e.getKey())).toList();
        waiting.clear();
        return due;
    }

    /** Acknowledged events still in the outbox. */
    int size() {
        return deleting.size() + waiting.size();
    }
}
