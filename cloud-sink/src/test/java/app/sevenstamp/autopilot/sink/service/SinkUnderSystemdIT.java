package app.sevenstamp.autopilot.sink.service;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertTrue;

import app.sevenstamp.autopilot.protocol.testing.NotifySocket;
import app.sevenstamp.autopilot.sink.testing.TestSink;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The sink jar as its unit runs it ({@code serve}, Type=notify, WatchdogSec=), as far as a test can
 * without PID 1: NOTIFY_SOCKET is a real datagram socket and WATCHDOG_USEC is set. It must say READY=1
 * and then keep feeding the watchdog while healthy, and say STOPPING=1 at SIGTERM. The unhealthy cases
 * are in {@link SinkHealthTest}; the watchdog's stop-feeding logic in the protocol's WatchdogTest.
 */
class SinkUnderSystemdIT {
    private static final Path JAR = Path.of("target", "autopilot-sink.jar");
    private static final Duration WAIT = Duration.ofSeconds(30);

    @TempDir
    Path dir;
    private NotifySocket notify;
    private Process sink;

    @AfterEach
    void stop() throws InterruptedException {
        if (sink != null && sink.isAlive()) {
            sink.destroyForcibly();
            sink.waitFor(10, TimeUnit.SECONDS);
        }
        if (notify != null) {
            notify.close();
        }
    }

    @Test
    void notifiesReadyFeedsTheWatchdogWhileHealthyAndSaysStopping() throws Exception {
        assertTrue(Files.isRegularFile(JAR), JAR.toAbsolutePath() + " is missing: integration tests run after `mvn package`");
        notify = NotifySocket.start(dir.resolve("systemd"));
        Path config = TestSink.in(dir).program("coffee", 5).write();
        Path log = dir.resolve("sink.log");
        ProcessBuilder pb = new ProcessBuilder(ProcessHandle.current().info().command().orElse("java"), "-Xmx128m",
                "-jar", JAR.toString(), "serve", "--config", config.toString()).redirectErrorStream(true).redirectOutput(log.toFile());
        pb.environment().put("NOTIFY_SOCKET", notify.path().toString());
        pb.environment().put("WATCHDOG_USEC", "1000000");
        sink = pb.start();

        await().atMost(WAIT).until(() -> {
            String text = notify.received();
            int ready = text.indexOf("READY=1");
            return ready >= 0 && text.indexOf("WATCHDOG=1", ready) > ready;
        });
        // still fed a few periods later: the probes keep passing on a running sink
        int fed = count(notify.received(), "WATCHDOG=1");
        await().atMost(WAIT).until(() -> count(notify.received(), "WATCHDOG=1") >= fed + 3);
        String text = Files.readString(log, StandardCharsets.UTF_8);
        assertTrue(text.contains("systemd watchdog on: 1 s; fed every 500 ms while these are healthy: ingest, redeem, store, broker"), text);
        assertTrue(!text.contains("unhealthy"), text);

        sink.destroy();
        assertTrue(sink.waitFor(20, TimeUnit.SECONDS), Files.readString(log));
        await().atMost(WAIT).until(() -> notify.received().contains("STOPPING=1"));
    }

    private static int count(String text, String what) {
        return text.split(java.util.regex.Pattern.quote(what), -1).length - 1;
    }
}
