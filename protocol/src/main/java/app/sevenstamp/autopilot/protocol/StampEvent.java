package app.sevenstamp.autopilot.protocol;

import java.time.Instant;
import java.util.Objects;

/**
 * One scan that the gateway accepted and stored, on its way to the sink.
 *
 * @param schema         wire schema version, {@link WireCodec#SCHEMA}
 * @param eventId        unique and time-ordered (UUIDv7); the sink deduplicates on it
 * @param deviceId       the gateway that recorded the scan
 * @param seq            per-device sequence number, 1, 2, 3... without gaps; lets the sink spot a lost event
 * @param cardCode       the scanned card code, verbatim, so that the sink verifies it again
 * @param programId      program id read from the card code
 * @param cardId         card id read from the card code
 * @param location       where the gateway stands (a shop or counter id)
 * @param deviceTime     the gateway's wall-clock time at the scan
 * @param monotonicNanos the gateway's monotonic clock at the scan (comparable only within one boot)
 * @param bootId         the gateway host's boot id, which scopes {@code monotonicNanos}
 * @param clockSynced    whether the gateway's wall clock was synchronised when it scanned
 * @param kind           stamp or redeem
 * @param clockCorrected optional, absent unless true: {@code deviceTime} was recomputed after the scan, once the
 *                       clock had synchronised, from the monotonic time of the same boot
 *                       ({@code syncedNow - (monoNow - monotonicNanos)}); {@code clockSynced} is then true.
 *                       Added in v1 without a schema bump: readers ignore fields they do not know.
 */
public record StampEvent(
        int schema,
        String eventId,
        String deviceId,
        long seq,
        String cardCode,
        String programId,
        String cardId,
        String location,
        Instant deviceTime,
        long monotonicNanos,
        String bootId,
        boolean clockSynced,
        EventKind kind,
        Boolean clockCorrected) {
    /** The longest card code (and program or card id) the contract carries; {@code CardCode} holds codes to it. */
    public static final int MAX_CARD_CODE = 160;

    public StampEvent {
        Objects.requireNonNull(eventId, "eventId");
        Objects.requireNonNull(deviceId, "deviceId");
        Objects.requireNonNull(cardCode, "cardCode");
        Objects.requireNonNull(programId, "programId");
        Objects.requireNonNull(cardId, "cardId");
        Objects.requireNonNull(location, "location");
        Objects.requireNonNull(deviceTime, "deviceTime");
        Objects.requireNonNull(bootId, "bootId");
        Objects.requireNonNull(kind, "kind");
        if (seq < 1) {
            throw new IllegalArgumentException("seq must be >= 1, was " + seq);
        }
        if (Boolean.FALSE.equals(clockCorrected)) {
            clockCorrected = null; // written only when true, so uncorrected events look exactly as before
        }
    }

    /** An event whose time was not corrected (the usual case). */
    public StampEvent(int schema, String eventId, String deviceId, long seq, String cardCode, String programId,
            String cardId, String location, Instant deviceTime, long monotonicNanos, String bootId, boolean clockSynced,
            EventKind kind) {
        this(schema, eventId, deviceId, seq, cardCode, programId, cardId, location, deviceTime, monotonicNanos, bootId,
                clockSynced, kind, null);
    }

    /** Whether {@code deviceTime} was corrected after the clock synchronised. */
    public boolean timeCorrected() {
        return Boolean.TRUE.equals(clockCorrected);
    }
}
