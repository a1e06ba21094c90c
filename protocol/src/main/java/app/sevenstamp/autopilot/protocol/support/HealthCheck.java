package app.sevenstamp.autopilot.protocol.support;

import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.function.Supplier;

/**
 * Whether the daemon's own threads do their work: each probe answers null when its part is healthy,
 * or what is wrong. The watchdog feeds systemd only when every probe is healthy, so a thread that died
 * or hangs gets the service restarted instead of a box that looks up and stamps nothing.
 *
 * <p>Probes run on the caller's thread, one after the other; a probe bounds its own waiting.
 */
public final class HealthCheck {
    /** @param problem null when healthy, else a short description for the log */
    public record Probe(String name, Supplier<String> problem) {
        public Probe {
            Objects.requireNonNull(name, "name");
            Objects.requireNonNull(problem, "problem");
        }
    }

    private final List<Probe> probes;

    public HealthCheck(List<Probe> probes) {
        this.probes = List.copyOf(probes);
    }

    /** The probes' names, in the order they run. */
    public java.util.List<String> names() {
        return probes.stream().map(Probe::name).toList();
    }

    /** The first problem as {@code name: what}, or empty when all probes are healthy. */
    public Optional<String> firstProblem() {
        for (Probe probe : probes) {
            String problem;
            try {
                problem = probe.problem().get();
            } catch (RuntimeException e) {
                problem = "probe failed: " + e;
            }
            if (problem != null) {
                return Optional.of(probe.name() + ": " + problem);
            }
        }
        return Optional.empty();
    }
}
