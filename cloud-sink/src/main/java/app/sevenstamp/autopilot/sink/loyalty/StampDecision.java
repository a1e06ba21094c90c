package app.sevenstamp.autopilot.sink.loyalty;

import app.sevenstamp.autopilot.protocol.RejectReason;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * What one stamp does to a card under its program's rules and reward plan: a pure function, so it
 * is tested without a database and the ledger can be checked against it.
 */
public final class StampDecision {
    /** A flag on an accepted stamp that an operator should look at. */
    public static final String IMPOSSIBLE_TRAVEL = "IMPOSSIBLE_TRAVEL";

    private StampDecision() {
    }

    /** The card's most recent stamp, for the travel check. */
    public record LastStamp(String location, Instant at) {
    }

    /** One ledger line a decision produces: {@code type} is a {@link LedgerType} name. */
    public record Delta(LedgerType type, int stamps, int rewards, int earned, String note) {
    }

    /** The outcome: refused with a reason, or applied as ledger lines. */
    public sealed interface Outcome permits Refused, Applied {
    }

    public record Refused(RejectReason reason, String detail) implements Outcome {
    }

    /** @param flag {@link #IMPOSSIBLE_TRAVEL} or null */
    public record Applied(List<Delta> deltas, CardBalance after, boolean rewardEarned, String flag) implements Outcome {
        public Applied {
            deltas = List.copyOf(deltas);
        }
    }

    /**
     * @param lastStampAt  when the card was last stamped, null before its first stamp
     * @param at           when this stamp happened
     * @param stampsThatDay stamps the card already has on {@code at}'s day (in the rules' zone)
     * @param last         the last stamp's location and time, null if none
     */
    public static Outcome stamp(Program program, CardBalance before, Instant lastStampAt, Instant at, int stampsThatDay,
            LastStamp last, String location) {
        Objects.requireNonNull(at, "at");
        StampRules rules = program.rules();
        if (lastStampAt != null && rules.cooldown().compareTo(Duration.ZERO) > 0
                && Duration.between(lastStampAt, at).abs().compareTo(rules.cooldown()) < 0) {
            return new Refused(RejectReason.TOO_SOON, "last stamp at " + lastStampAt + ", this one at " + at
                    + ": less than the cooldown of " + rules.cooldown().toSeconds() + " s apart");
        }
        if (rules.dailyCap() > 0 && stampsThatDay >= rules.dailyCap()) {
            return new Refused(RejectReason.DAILY_CAP, stampsThatDay + " stamps already on " + at.atZone(rules.zone())
                    .toLocalDate() + " (" + rules.zone() + "), the daily cap is " + rules.dailyCap());
        }
        List<Delta> deltas = new ArrayList<>();
        int stamps = before.stamps();
        int rewards = before.rewardsAvailable();
        int earned = before.rewardsEarnedTotal();
        RewardPlan plan = program.plan();
        if (stamps > 0 && lastStampAt != null && plan.stampExpiry().compareTo(Duration.ZERO) > 0
                && Duration.between(lastStampAt, at).compareTo(plan.stampExpiry()) > 0) {
            deltas.add(new Delta(LedgerType.EXPIRE, -stamps, 0, 0, stamps + " stamps lapsed after "
                    + plan.stampExpiry().toDays() + " days without a visit"));
            stamps = 0;
        }
        stamps++;
        deltas.add(new Delta(LedgerType.STAMP, 1, 0, 0, null));
        boolean rewardEarned = false;
        if (plan.milestones().contains(stamps)) {
            deltas.add(new Delta(LedgerType.REWARD, 0, 1, 1, "milestone " + stamps));
            rewards++;
            earned++;
            rewardEarned = true;
        }
        if (stamps >= program.stampsRequired()) {
            int off = plan.fullCard() == RewardPlan.FullCard.CARRY_OVER ? program.stampsRequired() : stamps;
            deltas.add(new Delta(LedgerType.REWARD, -off, 1, 1, "card full at " + program.stampsRequired()));
            stamps -= off;
            rewards++;
            earned++;
            rewardEarned = true;
        }
        String flag = null;
        if (last != null && location != null && rules.minTravel().compareTo(Duration.ZERO) > 0
                && !location.equals(last.location())
                && Duration.between(last.at(), at).abs().compareTo(rules.minTravel()) < 0) {
            flag = IMPOSSIBLE_TRAVEL;
        }
        return new Applied(deltas, new CardBalance(stamps, rewards, earned), rewardEarned, flag);
    }
}
