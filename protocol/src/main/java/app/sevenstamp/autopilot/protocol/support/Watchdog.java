package app.sevenstamp.autopilot.protocol.support;

import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.tinylog.Logger;

/**
 * Feeds systemd's watchdog (WATCHDOG=1) every half WatchdogSec=, but only after the health check
 * passed. When a check fails it logs the problem once and stops feeding: systemd then kills the
 * service after WatchdogSec= and Restart=on-failure starts it again. When the check passes again
 * before that, feeding resumes and that is logged too.
 *
 * <p>Shared by the gateway and the sink; each daemon brings its own {@link HealthCheck}.
 *
 * <p>Threading: one daemon thread ({@code watchdog}) runs the checks and the sends; nothing else
 * touches its state.
 */
public final class Watchdog implements AutoCloseable {
    private final SystemdNotifier notifier;
    private final HealthCheck health;
    private final ScheduledExecutorService timer;
    private String lastProblem;

    private Watchdog(SystemdNotifier notifier, HealthCheck health) {
        this.notifier = notifier;
        this.health = health;
        this.timer = Executors.newSingleThreadScheduledExecutor(NamedThreads.daemon("watchdog"));
    }

    /** Starts feeding when systemd asked for a watchdog (WATCHDOG_USEC); otherwise does nothing. */
    public static Optional<Watchdog> start(SystemdNotifier notifier, HealthCheck health) {
        Optional<Duration> interval = notifier.watchdogInterval();
        if (interval.isEmpty()) {
            return Optional.empty();
        }
        Watchdog watchdog = new Watchdog(notifier, health);
        long periodMs = Math.max(100, interval.get().toMillis() / 2);
        watchdog.timer.scheduleWithFixedDelay(watchdog::tick, 0, periodMs, TimeUnit.MILLISECONDS);
        Logger.info("systemd watchdog on: {} s; fed every {} ms while these are healthy: {}",
                interval.get().toSeconds(), periodMs, String.join(", ", health.names()));
        return Optional.of(watchdog);
    }

    /** One check; feeds when healthy. */
    private void tick() {
        try {
            Optional<String> problem = health.firstProblem();
            if (problem.isPresent()) {
                if (!problem.get().equals(lastProblem)) {
                    Logger.error("unhealthy: {}; not feeding the systemd watchdog, systemd will restart the service",
                            problem.get());
                    notifier.status("unhealthy: " + problem.get());
                }
                lastProblem = problem.get();
                return;
            }
            if (lastProblem != null) {
                Logger.warn("healthy again after: {}; feeding the systemd watchdog", lastProblem);
                notifier.status("healthy");
                lastProblem = null;
            }
            notifier.watchdog();
        } catch (RuntimeException e) {
            // an exception escaping a scheduled task would cancel it: the watchdog would starve silently
            Logger.error(e, "watchdog check failed");
        }
    }

    @Override
    public void close() {
        timer.shutdownNow();
    }
}
