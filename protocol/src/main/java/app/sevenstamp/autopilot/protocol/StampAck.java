package app.sevenstamp.autopilot.protocol;

import java.util.Objects;

/**
 * The sink's answer to one stamp event, sent after its transaction committed.
 *
 * @param schema       wire schema version
 * @param eventId      the event it answers
 * @param deviceId     the device that sent the event
 * @param outcome      accepted, duplicate or rejected
 * @param reason       why it was rejected; null otherwise
 * @param rewardEarned whether this very event completed a round and earned a reward
 * @param card         the card after the event; null when the event was rejected before a card was known
 */
public record StampAck(
        int schema,
        String eventId,
        String deviceId,
        AckOutcome outcome,
        RejectReason reason,
        boolean rewardEarned,
        CardState card) {

    public StampAck {
        Objects.requireNonNull(eventId, "eventId");
        Objects.requireNonNull(deviceId, "deviceId");
        Objects.requireNonNull(outcome, "outcome");
        if ((outcome == AckOutcome.REJECTED) != (reason != null)) {
            throw new IllegalArgumentException("a reason is required exactly when the outcome is REJECTED");
        }
    }
}
