package app.sevenstamp.autopilot.sink.loyalty;

import java.time.Duration;
import java.util.List;
import java.util.Objects;

/**
 * How a program turns stamps into rewards.
 *
 * @param milestones  stamp counts inside a round, below {@code stampsRequired}, that each earn a reward
 *                    on the way (for example 5 on a card of 10: a small reward at 5, the big one at 10)
 * @param fullCard    what the stamp that completes the round does with stamps beyond the goal
 * @param stampExpiry stamps of the current round lapse when the card has not been stamped for this
 *                    long; zero: never
 */
public record RewardPlan(List<Integer> milestones, FullCard fullCard, Duration stampExpiry) {
    public static final RewardPlan SIMPLE = new RewardPlan(List.of(), FullCard.NEW_ROUND, Duration.ZERO);

    /** What happens when a card reaches its goal. */
    public enum FullCard {
        /** A reward, and the round starts again at zero; stamps beyond the goal (from an adjustment) lapse. */
        NEW_ROUND,
        /** A reward, and stamps beyond the goal count towards the next round. */
        CARRY_OVER
    }

    public RewardPlan {
        milestones = List.copyOf(milestones);
        Objects.requireNonNull(fullCard, "fullCard");
        Objects.requireNonNull(stampExpiry, "stampExpiry");
        for (int i = 1; i < milestones.size(); i++) {
            if (milestones.get(i) <= milestones.get(i - 1)) {
                throw new IllegalArgumentException("milestones must be increasing: " + milestones);
            }
        }
    }
}
