package app.sevenstamp.autopilot.protocol.support;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The watchdog feeds systemd only while every probe is healthy; a script records what systemd would get. */
class WatchdogTest {
    @TempDir
    Path dir;
    private FakeSystemdNotify systemd;

    @BeforeEach
    void fake() throws IOException {
        systemd = FakeSystemdNotify.in(dir);
    }

    private SystemdNotifier notifier(String watchdogUsec) {
        return systemd.notifier(Map.of("NOTIFY_SOCKET", "/run/notify", "WATCHDOG_USEC", watchdogUsec));
    }

    private List<String> calls() throws IOException {
        return systemd.calls();
    }

    @Test
    void feedsWhileHealthyStopsWhileAProbeFailsAndResumes() throws IOException {
        AtomicReference<String> uplinkProblem = new AtomicReference<>();
        AtomicInteger checks = new AtomicInteger();
        HealthCheck health = new HealthCheck(List.of(
                new HealthCheck.Probe("pipeline", () -> null),
                new HealthCheck.Probe("uplink", () -> {
                    checks.incrementAndGet();
                    return uplinkProblem.get();
                })));
        try (Watchdog watchdog = Watchdog.start(notifier("200000"), health).orElseThrow()) {
            await().atMost(Duration.ofSeconds(10)).until(() -> calls().contains("WATCHDOG=1"));

            uplinkProblem.set("the uplink thread has ended");
            await().atMost(Duration.ofSeconds(10)).until(() -> calls().contains("STATUS=unhealthy: uplink: the uplink thread has ended"));
            int seen = checks.get();
            await().atMost(Duration.ofSeconds(10)).until(() -> checks.get() >= seen + 3);
            List<String> whileUnhealthy = calls();
            int unhealthyAt = whileUnhealthy.indexOf("STATUS=unhealthy: uplink: the uplink thread has ended");
            assertEquals(List.of(), whileUnhealthy.subList(unhealthyAt + 1, whileUnhealthy.size()),
                    "no WATCHDOG=1 (and the problem told once) while a probe fails");

            uplinkProblem.set(null);
            await().atMost(Duration.ofSeconds(10)).until(() -> {
                List<String> now = calls();
                int healthyAt = now.indexOf("STATUS=healthy");
                return healthyAt > unhealthyAt && now.subList(healthyAt, now.size()).contains("WATCHDOG=1");
            });
        }
    }

    @Test
    void withoutWatchdogUsecNothingRuns() throws IOException {
        SystemdNotifier noWatchdog = SystemdNotifier.fromEnvironment(Map.of("NOTIFY_SOCKET", "/run/notify"), "systemd-notify", 1);
        assertEquals(Optional.empty(), Watchdog.start(noWatchdog, new HealthCheck(List.of())));
        assertTrue(calls().isEmpty());
    }

    @Test
    void aThrowingProbeIsAProblem() {
        HealthCheck health = new HealthCheck(List.of(new HealthCheck.Probe("outbox", () -> {
            throw new IllegalStateException("closed");
        })));
        assertEquals(Optional.of("outbox: probe failed: java.lang.IllegalStateException: closed"), health.firstProblem());
        assertEquals(Optional.empty(), new HealthCheck(List.of(new HealthCheck.Probe("a", () -> null))).firstProblem());
    }
}
