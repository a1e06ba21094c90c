package app.sevenstamp.autopilot.protocol.support;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A slow start is extended while the process works, not while it hangs, and never beyond the limit; a script in
 * place of {@code systemd-notify} records what systemd would get. The looks are made by hand, with the CPU time
 * and the clock set by the test.
 */
class StartExtensionTest {
    private static final String EXTEND = "EXTEND_TIMEOUT_USEC=10000000";

    @TempDir
    Path dir;
    private FakeSystemdNotify systemd;

    private final AtomicLong cpu = new AtomicLong();
    private final AtomicLong now = new AtomicLong(1_000);

    @BeforeEach
    void fake() throws IOException {
        systemd = FakeSystemdNotify.in(dir);
    }

    private SystemdNotifier notifier() {
        return systemd.notifier(Map.of("NOTIFY_SOCKET", "/run/notify"));
    }

    private List<String> calls() throws IOException {
        return systemd.calls();
    }

    private StartExtension byHand() {
        return new StartExtension(notifier(), cpu::get, now::get, null);
    }

    /** Time passes and the process uses {@code cpuMillis} of CPU meanwhile. */
    private void after(Duration d, long cpuMillis) {
        now.addAndGet(d.toNanos());
        cpu.addAndGet(TimeUnit.MILLISECONDS.toNanos(cpuMillis));
    }

    @Test
    void extendsWhileTheStartWorksNotWhileItHangsAndAgainWhenItGoesOn() throws IOException {
        cpu.set(TimeUnit.MILLISECONDS.toNanos(400)); // the JVM's own start
        StartExtension e = byHand();
        e.look();
        assertEquals(List.of(EXTEND, "STATUS=starting, 0 s: starting"), calls());

        e.phase("opening the outbox");
        after(StartExtension.PERIOD, 1_500);
        e.look();
        assertEquals(List.of(EXTEND, "STATUS=starting, 2 s: opening the outbox"), calls().subList(2, 4));

        after(StartExtension.PERIOD, 49); // below MIN_WORK: waiting on something, not working
        e.look();
        after(StartExtension.PERIOD, 3);
        e.look();
        assertEquals(4, calls().size(), "no extension while the start does no work: " + calls());

        after(StartExtension.PERIOD, 51);
        e.look();
        assertEquals(List.of(EXTEND, "STATUS=starting, 8 s: opening the outbox"), calls().subList(4, 6));
    }

    @Test
    void noStartIsExtendedBeyondTheLimitHoweverHardItWorks() throws IOException {
        StartExtension e = byHand();
        after(StartExtension.LIMIT.minusSeconds(1), 60_000);
        e.look();
        assertEquals(2, calls().size(), calls().toString());
        after(Duration.ofSeconds(2), 2_000);
        e.look();
        after(Duration.ofSeconds(2), 2_000);
        e.look();
        assertEquals(2, calls().size(), "nothing asked past the limit: " + calls());
    }

    @Test
    void withoutTheKernelsCpuTimeEveryLookCountsAsWorkUpToTheLimit() throws IOException {
        StartExtension e = new StartExtension(notifier(), () -> StartExtension.CPU_UNKNOWN, now::get, null);
        for (int i = 0; i < 3; i++) {
            e.look();
            after(StartExtension.PERIOD, 0);
        }
        assertEquals(6, calls().size(), calls().toString());
        after(StartExtension.LIMIT, 0);
        e.look();
        assertEquals(6, calls().size(), calls().toString());
    }

    @Test
    void underSystemdTheFirstLookComesAtOnceAndCloseEndsThem() throws IOException {
        try (StartExtension e = StartExtension.start(notifier())) {
            await().atMost(Duration.ofSeconds(10)).until(() -> calls().contains(EXTEND));
        }
    }

    @Test
    void outsideSystemdNothingIsSent() throws Exception {
        SystemdNotifier outside = systemd.notifier(Map.of());
        try (StartExtension e = StartExtension.start(outside)) {
            e.phase("anything");
            e.look(); // what its thread would do, had it one
        }
        assertEquals(List.of(), calls());
    }
}
