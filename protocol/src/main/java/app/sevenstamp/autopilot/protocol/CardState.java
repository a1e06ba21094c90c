package app.sevenstamp.autopilot.protocol;

import java.time.Instant;

/**
 * A card after the sink applied an event to it.
 *
 * @param cardId           the card
 * @param programId        its program
 * @param stamps           stamps in the current round
 * @param stampsRequired   stamps that earn a reward in this program
 * @param rewardsAvailable rewards earned and not yet redeemed
 * @param lastStampAt      the device time of the last stamp, or null before the first
 */
public record CardState(
        String cardId,
        String programId,
        int stamps,
        int stampsRequired,
        int rewardsAvailable,
        Instant lastStampAt) {
}
