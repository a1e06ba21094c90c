package app.sevenstamp.autopilot.gateway.feedback;

import java.time.Duration;
import java.util.List;
import java.util.Objects;

/** A sequence of steps; every output is off after the last one. */
public record Pattern(String name, List<Step> steps) {

    public Pattern {
        Objects.requireNonNull(name, "name");
        steps = List.copyOf(steps);
        if (steps.isEmpty()) {
            throw new IllegalArgumentException("pattern " + name + " has no steps");
        }
    }

    public Duration duration() {
        return steps.stream().map(Step::duration).reduce(Duration.ZERO, Duration::plus);
    }
}
