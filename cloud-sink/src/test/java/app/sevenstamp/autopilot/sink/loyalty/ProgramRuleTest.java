package app.sevenstamp.autopilot.sink.loyalty;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import app.sevenstamp.autopilot.protocol.EventKind;
import org.junit.jupiter.api.Test;

class ProgramRuleTest {
    private final Program coffee = new Program("coffee", "Coffee card", 3, StampRules.NONE, RewardPlan.SIMPLE);

    @Test
    void eachStampAddsOneUntilTheRoundIsComplete() {
        RuleResult first = ProgramRule.stamp(coffee, CardBalance.EMPTY);
        assertEquals(new CardBalance(1, 0, 0), first.after());
        assertFalse(first.rewardEarned());
        RuleResult second = ProgramRule.stamp(coffee, first.after());
        assertEquals(new CardBalance(2, 0, 0), second.after());
        assertFalse(second.rewardEarned());
    }

    @Test
    void theStampThatCompletesARoundEarnsARewardAndStartsANewRound() {
        RuleResult third = ProgramRule.stamp(coffee, new CardBalance(2, 0, 0));
        assertTrue(third.rewardEarned());
        assertEquals(new CardBalance(0, 1, 1), third.after());

        RuleResult nextRound = ProgramRule.stamp(coffee, third.after());
        assertFalse(nextRound.rewardEarned());
        assertEquals(new CardBalance(1, 1, 1), nextRound.after());
    }

    @Test
    void rewardsAccumulateOverRounds() {
        CardBalance b = CardBalance.EMPTY;
        int earned = 0;
        for (int i = 0; i < 10; i++) {
            RuleResult r = ProgramRule.apply(coffee, b, EventKind.STAMP);
            earned += r.rewardEarned() ? 1 : 0;
            b = r.after();
        }
        assertEquals(3, earned);
        assertEquals(new CardBalance(1, 3, 3), b);
    }

    @Test
    void aProgramOfOneStampRewardsEveryStamp() {
        RuleResult r = ProgramRule.stamp(new Program("once", "once", 1, StampRules.NONE, RewardPlan.SIMPLE), CardBalance.EMPTY);
        assertTrue(r.rewardEarned());
        assertEquals(new CardBalance(0, 1, 1), r.after());
    }

    @Test
    void aCardAboveALoweredGoalCompletesItsRoundWithTheNextStamp() {
        RuleResult r = ProgramRule.stamp(coffee, new CardBalance(7, 0, 0));
        assertTrue(r.rewardEarned());
        assertEquals(new CardBalance(0, 1, 1), r.after());
    }

    @Test
    void redeemSpendsOneRewardAndKeepsTheRound() {
        RuleResult r = ProgramRule.apply(coffee, new CardBalance(2, 2, 5), EventKind.REDEEM);
        assertTrue(r.applied());
        assertFalse(r.rewardEarned());
        assertEquals(new CardBalance(2, 1, 5), r.after());
    }

    @Test
    void redeemWithoutARewardIsRefusedAndChangesNothing() {
        CardBalance before = new CardBalance(2, 0, 1);
        RuleResult r = ProgramRule.redeem(before);
        assertFalse(r.applied());
        assertEquals(before, r.after());
    }

    @Test
    void programsOutsideTheLimitsCannotExist() {
        assertThrows(IllegalArgumentException.class, () -> new Program("coffee", "c", 0, StampRules.NONE, RewardPlan.SIMPLE));
        assertThrows(IllegalArgumentException.class, () -> new Program("coffee", "c", 101, StampRules.NONE, RewardPlan.SIMPLE));
        assertThrows(IllegalArgumentException.class, () -> new Program("Coffee", "c", 10, StampRules.NONE, RewardPlan.SIMPLE));
    }
}
