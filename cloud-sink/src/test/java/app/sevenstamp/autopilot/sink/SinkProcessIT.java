package app.sevenstamp.autopilot.sink;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import app.sevenstamp.autopilot.protocol.AckOutcome;
import app.sevenstamp.autopilot.protocol.StampAck;
import app.sevenstamp.autopilot.sink.testing.TestSink;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.tinylog.Logger;

/** The shaded jar as operators run it: {@code java -jar autopilot-sink.jar serve}, stopped by SIGTERM. */
class SinkProcessIT {
    private static final Path JAR = Path.of("target", "autopilot-sink.jar");
    private static final Pattern READY = Pattern.compile(
            "sink ready broker=(tcp://127\\.0\\.0\\.1:\\d+) http=(http://127\\.0\\.0\\.1:\\d+)");

    @TempDir
    Path dir;

    /** A running sink process, the ready line it printed, and where its output goes. */
    private record Sink(Process process, Matcher ready, Path out, Path log) {
        String brokerUrl() {
            return ready.group(1);
        }

        String http() {
            return ready.group(2);
        }
    }

    private Sink serve(Path config, String name) throws Exception {
        assertTrue(Files.isRegularFile(JAR), JAR.toAbsolutePath() + " is built by the package phase");
        Path out = dir.resolve(name + ".out");
        Path log = dir.resolve(name + ".log");
        long t0 = System.nanoTime();
        Process p = new ProcessBuilder(ProcessHandle.current().info().command().orElse("java"), "-jar", JAR.toString(),
                "serve", "--config", config.toString()).redirectOutput(out.toFile()).redirectError(log.toFile()).start();
        await().atMost(Duration.ofSeconds(30)).until(() -> !p.isAlive() || read(out).endsWith("\n"));
        String line = read(out).strip();
        Logger.info("sink process ready after {} ms: {}", (System.nanoTime() - t0) / 1_000_000, line);
        Matcher m = READY.matcher(line);
        assertTrue(m.matches(), () -> "stdout: '" + line + "'; stderr: " + read(log));
        return new Sink(p, m, out, log);
    }

    private static Duration terminate(Process p) throws Exception {
        long t0 = System.nanoTime();
        p.destroy(); // SIGTERM
        assertTrue(p.waitFor(10, TimeUnit.SECONDS), "the sink did not exit within 10 s of SIGTERM");
        return Duration.ofNanos(System.nanoTime() - t0);
    }

    private static String read(Path file) {
        try {
            return Files.readString(file, StandardCharsets.UTF_8);
        } catch (java.io.IOException e) {
            return "(" + e.getMessage() + ")";
        }
    }

    @Test
    void servePrintsOneReadyLineCountsAStampAndStopsOnSigtermWithinFiveSeconds() throws Exception {
        Path config = TestSink.in(dir).vectorKey().program("coffee", 10).write();

        Sink sink = serve(config, "first");
        HttpClient http = HttpClient.newHttpClient();
        assertEquals("ok", http.send(HttpRequest.newBuilder(URI.create(sink.http() + "/healthz")).build(),
                HttpResponse.BodyHandlers.ofString()).body().trim());

        StampAck ack = VectorStore.stampGoldenEvent(sink.brokerUrl(), "it-process");
        assertEquals(AckOutcome.ACCEPTED, ack.outcome());

        Duration stop = terminate(sink.process());
        Logger.info("sink process stopped {} ms after SIGTERM", stop.toMillis());
        assertTrue(stop.compareTo(Duration.ofSeconds(5)) < 0, "SIGTERM to exit took " + stop.toMillis() + " ms");
        assertEquals(143, sink.process().exitValue(), "the JVM's status after SIGTERM");
        String log = read(sink.log());
        assertTrue(log.contains("sink stopped in"), log);
        assertTrue(log.contains("store closed"), log);

        // A second process on the same store reads what the first one wrote.
        Sink again = serve(config, "second");
        String card = http.send(HttpRequest.newBuilder(URI.create(again.http() + "/api/v1/cards/ABCDEFGHJKMNPQRS")).build(),
                HttpResponse.BodyHandlers.ofString()).body();
        assertTrue(card.contains("\"stamps\":1"), card);
        terminate(again.process());
        List<String> stdout = Files.readAllLines(again.out());
        assertEquals(List.of(again.ready().group()), stdout, "nothing but the ready line goes to stdout");
    }
}
