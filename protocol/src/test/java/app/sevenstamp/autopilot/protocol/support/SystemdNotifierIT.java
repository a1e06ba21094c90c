package app.sevenstamp.autopilot.protocol.support;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertTrue;

import app.sevenstamp.autopilot.protocol.testing.NotifySocket;
import app.sevenstamp.autopilot.protocol.testing.Tools;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The real {@code systemd-notify} sending to a real Unix datagram socket: the bytes systemd would read. */
class SystemdNotifierIT {
    @TempDir
    Path dir;

    @Test
    void readyAndWatchdogArriveAsDatagramsOnNotifySocket() throws InterruptedException {
        try (NotifySocket socket = NotifySocket.start(dir)) {
            long pid = ProcessHandle.current().pid();
            SystemdNotifier notifier = SystemdNotifier.fromEnvironment(Map.of("NOTIFY_SOCKET", socket.path().toString()),
                    Tools.require("systemd-notify", "systemd").toString(), pid);
            assertTrue(notifier.ready("stamping"), "systemd-notify succeeded, its barrier included");
            assertTrue(notifier.watchdog());
            assertTrue(notifier.stopping());
            await().atMost(Duration.ofSeconds(10)).until(() -> socket.received().contains(
                    "READY=1\nSTATUS=stamping\nMAINPID=" + pid + "\n") && socket.received().contains("WATCHDOG=1\n")
                    && socket.received().contains("STOPPING=1\nSTATUS=stopping\n"));
        }
    }
}
