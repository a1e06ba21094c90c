package app.sevenstamp.autopilot.sink.store;

import app.sevenstamp.autopilot.protocol.AckOutcome;
import java.time.Instant;
import java.util.Objects;

/**
 * A row of {@code events}: every decodable stamp event the sink decided on, accepted or rejected,
 * once. The primary key on {@code eventId} is what makes a redelivery count once.
 *
 * @param cardId    the card id the event claims; for a rejected event not necessarily a real card
 * @param programId the program id the event claims
 * @param kind      {@code STAMP} or {@code REDEEM}
 * @param outcome   {@link AckOutcome#ACCEPTED} or {@link AckOutcome#REJECTED}; never DUPLICATE
 * @param reason    why it was rejected, null when accepted
 */
public record StoredEvent(
        String eventId,
        String deviceId,
        long seq,
        String cardId,
        String programId,
        String kind,
        Instant deviceTime,
        Instant receivedAt,
        boolean clockSynced,
        AckOutcome outcome,
        String reason) {

    public StoredEvent {
        Objects.requireNonNull(eventId, "eventId");
        Objects.requireNonNull(deviceId, "deviceId");
        Objects.requireNonNull(kind, "kind");
        Objects.requireNonNull(deviceTime, "deviceTime");
        Objects.requireNonNull(receivedAt, "receivedAt");
        Objects.requireNonNull(outcome, "outcome");
        if (outcome == AckOutcome.DUPLICATE) {
            throw new IllegalArgumentException("a duplicate is answered, not stored");
        }
    }
}
