package app.sevenstamp.autopilot.sink.loyalty;

import java.time.Duration;
import java.time.ZoneId;
import java.util.Objects;

/**
 * The anti-abuse rules of a program, enforced by the sink across all counters. This record is also
 * what the gateways need to decide offline with bounded risk: the config push (fleet issue) sends
 * it with the program, and the gateway's own policy applies the same cooldown and cap.
 *
 * @param cooldown  minimum time between two stamps on one card; zero: off
 * @param dailyCap  maximum stamps per card per calendar day in {@code zone}; zero: off
 * @param minTravel the same card stamped at two different locations less than this apart is
 *                  flagged ({@code IMPOSSIBLE_TRAVEL}), not refused: the stamp counts and an operator looks; zero: off
 * @param zone      where the shop's days begin and end, for {@code dailyCap}
 */
public record StampRules(Duration cooldown, int dailyCap, Duration minTravel, ZoneId zone) {
    public static final StampRules NONE = new StampRules(Duration.ZERO, 0, Duration.ZERO, ZoneId.of("UTC"));

    public StampRules {
        Objects.requireNonNull(cooldown, "cooldown");
        Objects.requireNonNull(minTravel, "minTravel");
        Objects.requireNonNull(zone, "zone");
        if (cooldown.isNegative() || minTravel.isNegative() || dailyCap < 0) {
            throw new IllegalArgumentException("stamp rules cannot be negative: " + cooldown + ", " + dailyCap + ", " + minTravel);
        }
    }
}
