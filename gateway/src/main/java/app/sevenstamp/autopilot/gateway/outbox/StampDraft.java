package app.sevenstamp.autopilot.gateway.outbox;

import app.sevenstamp.autopilot.protocol.EventKind;
import app.sevenstamp.autopilot.protocol.StampEvent;
import app.sevenstamp.autopilot.protocol.WireCodec;
import java.time.Instant;
import java.util.Objects;

/**
 * A stamp event before the outbox gave it its sequence number. The number is assigned in the same
 * transaction as the insert, so numbers have no gaps and survive restarts.
 */
public record StampDraft(
        String eventId,
        String deviceId,
        String cardCode,
        String programId,
        String cardId,
        String location,
        Instant deviceTime,
        long monotonicNanos,
        String bootId,
        boolean clockSynced,
        EventKind kind) {

    public StampDraft {
        Objects.requireNonNull(eventId, "eventId");
        Objects.requireNonNull(deviceId, "deviceId");
        Objects.requireNonNull(cardCode, "cardCode");
        Objects.requireNonNull(programId, "programId");
        Objects.requireNonNull(cardId, "cardId");
        Objects.requireNonNull(location, "location");
        Objects.requireNonNull(deviceTime, "deviceTime");
        Objects.requireNonNull(bootId, "bootId");
        Objects.requireNonNull(kind, "kind");
    }

    public StampEvent withSeq(long seq) {
        return new StampEvent(WireCodec.SCHEMA, eventId, deviceId, seq, cardCode, programId, cardId, location,
                deviceTime, monotonicNanos, bootId, clockSynced, kind);
    }
}
