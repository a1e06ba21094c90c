package app.sevenstamp.autopilot.sink.loyalty;

import app.sevenstamp.autopilot.protocol.card.CardCode;
import java.util.Objects;

/**
 * A loyalty program as the operator configured it.
 *
 * @param id             the program id printed in card codes ({@link CardCode#PROGRAM_ID})
 * @param name           what customers see, for example "Coffee card"
 * @param stampsRequired stamps that complete a round and earn one reward, 1..{@value #MAX_STAMPS}
 * @param rules          cooldown, daily cap, travel flag
 * @param plan           milestones, full-card behaviour, stamp expiry
 */
public record Program(String id, String name, int stampsRequired, StampRules rules, RewardPlan plan) {
    public static final int MAX_STAMPS = 100;

    public Program {
        if (id == null || !CardCode.PROGRAM_ID.matcher(id).matches()) {
            throw new IllegalArgumentException("program id '" + id + "' must match " + CardCode.PROGRAM_ID.pattern());
        }
        Objects.requireNonNull(name, "name");
        if (stampsRequired < 1 || stampsRequired > MAX_STAMPS) {
            throw new IllegalArgumentException("stampsRequired must be in 1.." + MAX_STAMPS + ", was " + stampsRequired);
        }
        Objects.requireNonNull(rules, "rules");
        Objects.requireNonNull(plan, "plan");
        for (int m : plan.milestones()) {
            if (m < 1 || m >= stampsRequired) {
                throw new IllegalArgumentException("milestone " + m + " must be in 1.." + (stampsRequired - 1));
            }
        }
    }
}
