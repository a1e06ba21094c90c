package app.sevenstamp.autopilot.gateway.feedback;

import java.time.Duration;
import java.util.EnumSet;
import java.util.Objects;
import java.util.Set;

/** Some outputs on (the others off) for a while. An empty set is a pause. */
public record Step(Set<Output> on, Duration duration) {

    public Step {
        on = on.isEmpty() ? Set.of() : Set.copyOf(EnumSet.copyOf(on));
        Objects.requireNonNull(duration, "duration");
        if (duration.isNegative() || duration.isZero()) {
            throw new IllegalArgumentException("a step lasts a positive time, was " + duration);
        }
    }

    public static Step of(long millis, Output... on) {
        return new Step(Set.of(on), Duration.ofMillis(millis));
    }
}
