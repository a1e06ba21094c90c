package app.sevenstamp.autopilot.protocol.support;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The notifier runs {@code systemd-notify}; here a script in its place records what it was given. */
class SystemdNotifierTest {
    @TempDir
    Path dir;

    private Path fakeNotify(int status) throws IOException {
        Path script = dir.resolve("systemd-notify");
        Files.writeString(script, "#!/bin/sh\necho \"socket=$NOTIFY_SOCKET\" >> " + dir.resolve("calls")
                + "\nfor a in \"$@\"; do echo \"$a\" >> " + dir.resolve("calls") + "; done\nexit " + status + "\n");
        Files.setPosixFilePermissions(script, PosixFilePermissions.fromString("rwx------"));
        return script;
    }

    private List<String> calls() throws IOException {
        return Files.readAllLines(dir.resolve("calls"));
    }

    @Test
    void sendsReadyWatchdogAndStoppingThroughSystemdNotifyToTheSocketFromTheEnvironment() throws IOException {
        SystemdNotifier notifier = SystemdNotifier.fromEnvironment(Map.of("NOTIFY_SOCKET", "/run/systemd/notify"),
                fakeNotify(0).toString(), 42);
        assertTrue(notifier.active());
        assertTrue(notifier.ready("stamping:\ndevice=a"));
        assertTrue(notifier.watchdog());
        assertTrue(notifier.stopping());
        assertEquals(List.of("socket=/run/systemd/notify", "READY=1", "STATUS=stamping: device=a",
                "MAINPID=" + ProcessHandle.current().pid(),
                "socket=/run/systemd/notify", "WATCHDOG=1",
                "socket=/run/systemd/notify", "STOPPING=1", "STATUS=stopping"), calls());
    }

    @Test
    void outsideSystemdNothingIsRun() throws IOException {
        Path script = fakeNotify(0);
        SystemdNotifier notifier = SystemdNotifier.fromEnvironment(Map.of("WATCHDOG_USEC", "30000000"), script.toString(), 42);
        assertFalse(notifier.active());
        assertFalse(notifier.ready("x"));
        assertFalse(notifier.watchdog());
        assertEquals(Optional.empty(), notifier.watchdogInterval());
        assertFalse(Files.exists(dir.resolve("calls")));
    }

    @Test
    void aFailingOrMissingSystemdNotifyIsReportedNotThrown() throws IOException {
        SystemdNotifier failing = SystemdNotifier.fromEnvironment(Map.of("NOTIFY_SOCKET", "@x"), fakeNotify(1).toString(), 1);
        assertFalse(failing.watchdog());
        SystemdNotifier missing = SystemdNotifier.fromEnvironment(Map.of("NOTIFY_SOCKET", "@x"),
                dir.resolve("nope").toString(), 1);
        assertFalse(missing.ready("x"));
    }

    @Test
    void watchdogIntervalIsOursOnlyWhenWatchdogPidIsUsOrUnset() {
        Map<String, String> env = Map.of("NOTIFY_SOCKET", "/s", "WATCHDOG_USEC", "30000000", "WATCHDOG_PID", "42");
        assertEquals(Optional.of(Duration.ofSeconds(30)), SystemdNotifier.fromEnvironment(env, "n", 42).watchdogInterval());
        assertEquals(Optional.empty(), SystemdNotifier.fromEnvironment(env, "n", 43).watchdogInterval());
        assertEquals(Optional.of(Duration.ofMillis(1500)), SystemdNotifier.fromEnvironment(
                Map.of("NOTIFY_SOCKET", "/s", "WATCHDOG_USEC", "1500000"), "n", 7).watchdogInterval());
        assertEquals(Optional.empty(), SystemdNotifier.fromEnvironment(
                Map.of("NOTIFY_SOCKET", "/s", "WATCHDOG_USEC", "soon"), "n", 7).watchdogInterval());
    }
}
