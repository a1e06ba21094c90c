package app.sevenstamp.autopilot.sink.store;

import java.time.Instant;
import java.util.Objects;

/**
 * Sequence numbers of one device that the sink has not received although it received later ones:
 * events {@code from..to} (inclusive) are missing. A gap shrinks or closes when a missing event
 * arrives late (a redelivery after a reconnect, a salvaged outbox).
 */
public record SeqGap(String deviceId, long from, long to, Instant detectedAt) {
    public SeqGap {
        Objects.requireNonNull(deviceId, "deviceId");
        Objects.requireNonNull(detectedAt, "detectedAt");
        if (from < 1 || to < from) {
            throw new IllegalArgumentException("bad gap " + from + ".." + to);
        }
    }

    /** How many events are missing. */
    public long missing() {
        return to - from + 1;
    }
}
