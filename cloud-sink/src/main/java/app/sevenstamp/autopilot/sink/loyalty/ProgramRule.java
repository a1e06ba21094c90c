package app.sevenstamp.autopilot.sink.loyalty;

import app.sevenstamp.autopilot.protocol.EventKind;

/**
 * The stamp-card rule, a pure function of the balance: every stamp adds one; the stamp that
 * reaches {@code stampsRequired} turns the round into one available reward and starts a new
 * round at zero. A redeem spends one available reward.
 *
 * <p>The comparison is {@code >=}, not {@code ==}, so that lowering {@code stampsRequired} in the
 * config never strands a card above the new goal: its next stamp completes the round.
 */
public final class ProgramRule {
    private ProgramRule() {
    }

    public static RuleResult apply(Program program, CardBalance before, EventKind kind) {
        return switch (kind) {
            case STAMP -> stamp(program, before);
            case REDEEM -> redeem(before);
        };
    }

    public static RuleResult stamp(Program program, CardBalance before) {
        int stamps = before.stamps() + 1;
        if (stamps >= program.stampsRequired()) {
            return new RuleResult(true, new CardBalance(0, before.rewardsAvailable() + 1,
                    before.rewardsEarnedTotal() + 1), true);
        }
        return new RuleResult(true, new CardBalance(stamps, before.rewardsAvailable(), before.rewardsEarnedTotal()), false);
    }

    public static RuleResult redeem(CardBalance before) {
        if (before.rewardsAvailable() == 0) {
            return new RuleResult(false, before, false);
        }
        return new RuleResult(true, new CardBalance(before.stamps(), before.rewardsAvailable() - 1,
                before.rewardsEarnedTotal()), false);
    }
}
