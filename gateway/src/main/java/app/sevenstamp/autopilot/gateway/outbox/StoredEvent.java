package app.sevenstamp.autopilot.gateway.outbox;

import java.time.Instant;
import java.util.Objects;

/**
 * A stamp event as the outbox holds it until the sink acknowledges it.
 *
 * @param seq            the per-device sequence number
 * @param eventId        the event's unique id, what the sink's acknowledgement names
 * @param payload        the encoded JSON, published as is
 * @param createdAt      wall-clock time of the append
 * @param bootId         the boot in which it was scanned, which scopes {@code monotonicNanos}
 * @param monotonicNanos the monotonic time of the scan
 */
public record StoredEvent(long seq, String eventId, byte[] payload, Instant createdAt, String bootId,
        long monotonicNanos) {

    public StoredEvent {
        Objects.requireNonNull(eventId, "eventId");
        Objects.requireNonNull(payload, "payload");
        Objects.requireNonNull(createdAt, "createdAt");
        Objects.requireNonNull(bootId, "bootId");
    }
}
