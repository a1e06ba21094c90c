package app.sevenstamp.autopilot.sink.loyalty;

import java.util.Objects;

/**
 * What the program rule made of one event.
 *
 * @param applied      false when the rule refused the event (a redeem without a reward); the
 *                     balance is then unchanged
 * @param after        the balance after the event
 * @param rewardEarned whether this event completed a round
 */
public record RuleResult(boolean applied, CardBalance after, boolean rewardEarned) {
    public RuleResult {
        Objects.requireNonNull(after, "after");
    }
}
