package app.sevenstamp.autopilot.gateway;

import app.sevenstamp.autopilot.gateway.testing.GatewayProps;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import app.sevenstamp.autopilot.gateway.outbox.Outbox;
import app.sevenstamp.autopilot.protocol.testing.Vectors;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The packaged jar as a child process, scans on its stdin and no broker: the command-line contract
 * (exit codes, stdout lines, stop within five seconds) and what survives a restart and a crash.
 */
class GatewayJarIT {
    private static final Path JAR = Path.of("target", "autopilot-gateway.jar");
    private static final Duration WAIT = Duration.ofSeconds(20);

    @TempDir
    Path dir;

    private final List<Process> started = new ArrayList<>();

    @AfterEach
    void killLeftovers() {
        started.forEach(Process::destroyForcibly);
    }

    private final class Run {
        final Process process;
        final Path log;
        final LinkedBlockingQueue<String> stdout = new LinkedBlockingQueue<>();

        Run(String... args) throws IOException {
            this(List.of(), args);
        }

        Run(List<String> jvmOptions, String... args) throws IOException {
            List<String> command = new ArrayList<>(List.of(ProcessHandle.current().info().command().orElse("java"), "-Xmx64m"));
            command.addAll(jvmOptions);
            command.addAll(List.of("-jar", JAR.toString()));
            command.addAll(List.of(args));
            log = Files.createTempFile(dir, "gateway", ".log");
            process = new ProcessBuilder(command).redirectError(log.toFile()).start();
            started.add(process);
            Thread reader = new Thread(() -> {
                try (BufferedReader in = new BufferedReader(
                        new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8))) {
                    String line;
                    while ((line = in.readLine()) != null) {
                        stdout.add(line);
                    }
                } catch (IOException e) {
                    // process ended
                }
            }, "jar-stdout");
            reader.setDaemon(true);
            reader.start();
        }

        void type(String line) throws IOException {
            OutputStream in = process.getOutputStream();
            in.write((line + "\n").getBytes(StandardCharsets.UTF_8));
            in.flush();
        }

        String nextLine() throws InterruptedException {
            String line = stdout.poll(WAIT.toMillis(), TimeUnit.MILLISECONDS);
            if (line == null) {
                throw new AssertionError("no stdout line within " + WAIT + "; log:\n" + log());
            }
            return line;
        }

        int exit() throws InterruptedException {
            assertTrue(process.waitFor(WAIT.toMillis(), TimeUnit.MILLISECONDS), "the jar did not exit");
            return process.exitValue();
        }

        String log() {
            try {
                return Files.readString(log, StandardCharsets.UTF_8);
            } catch (IOException e) {
                return e.toString();
            }
        }
    }

    private Path config(String... extra) throws IOException {
        return GatewayProps.minimal().set("device.id", "jar-counter", "cards.programs", "coffee",
                        "outbox.dir", dir.resolve("outbox").toString(),
                        "mqtt.url", "tcp://127.0.0.1:1") // a port nobody listens on: the box is offline
                .setLines(extra).write(dir.resolve("gateway.properties"));
    }

    @Test
    void badUsageExits64WithTheUsageLine() throws Exception {
        Run run = new Run("--conf", "x");
        assertEquals(64, run.exit());
        assertEquals("usage: java -jar autopilot-gateway.jar [check] --config FILE" + System.lineSeparator(), run.log());
    }

    @Test
    void aBadConfigExits78WithOnlyTheMessage() throws Exception {
        Run run = new Run("--config", config("scanner.baud=fast").toString());
        assertEquals(78, run.exit());
        assertEquals("scanner.baud: 'fast' is not allowed; allowed: a whole number in 1200..921600"
                + System.lineSeparator(), run.log());
    }

    @Test
    void offlineScansAreConfirmedAndTheDaemonStopsWithinFiveSecondsOfSigterm() throws Exception {
        Run run = new Run("--config", config().toString());
        run.type(Vectors.cardText("valid"));
        assertEquals("ACCEPTED_OFFLINE card=ABCDEFGHJKMNPQRS program=coffee seq=1", run.nextLine());
        run.type(Vectors.cardText("forged: signed by another key under the trusted key id"));
        assertTrue(run.nextLine().startsWith("REJECTED reason=BAD_SIGNATURE "));
        run.type("x".repeat(10_000));
        assertEquals("REJECTED reason=MALFORMED scan of 10000 bytes is longer than scanner.maxLength (256)", run.nextLine());
        run.process.getOutputStream().close(); // end of input: the daemon keeps running
        assertTrue(run.log().contains("gateway ready: device=jar-counter"), run.log());
        assertTrue(run.process.isAlive());

        long start = System.nanoTime();
        run.process.destroy(); // SIGTERM
        int exit = run.exit();
        long tookMs = (System.nanoTime() - start) / 1_000_000;
        assertTrue(tookMs < 5000, "stopped in " + tookMs + " ms");
        assertEquals(143, exit);
        assertTrue(run.log().contains("gateway stopped in "), run.log());
    }

    /**
     * Every class a box loads is memory it keeps (metaspace, or the class-data archive postinst builds from
     * what a running box loaded): a box on plain {@code tcp://} that was never told to update must not load
     * the JDK's HTTP client and TLS (about 280 classes of their implementations, about 400 with what they
     * pull in, the CA certificates parsed into the heap, one more thread). The update download creates its client when it needs one.
     * Nor Jackson's data binding (about 470 classes): the wire codec reads and writes with its streaming core. Nor
     * the JDK's elliptic-curve provider (its Ed25519 key classes, about 100 with what they use): the card check
     * runs in Bouncy Castle on the trusted keys' raw bytes.
     */
    @Test
    void aBoxOnPlainMqttLoadsNeitherTheHttpClientNorTlsNorJacksonsDataBindingNorTheJdksEd25519() throws Exception {
        Path classes = dir.resolve("classes.log");
        Run run = new Run(List.of("-Xlog:class+load=info:file=" + classes), "--config", config().toString());
        run.type(Vectors.cardText("valid"));
        assertEquals("ACCEPTED_OFFLINE card=ABCDEFGHJKMNPQRS program=coffee seq=1", run.nextLine());
        run.process.destroy();
        assertEquals(143, run.exit());
        List<String> loaded = Files.readAllLines(classes);
        assertTrue(loaded.stream().anyMatch(l -> l.contains(" app.sevenstamp.autopilot.gateway.update.Updater ")),
                "the log names the classes loaded, the updater's among them");
        assertTrue(loaded.stream().anyMatch(l -> l.contains(" app.sevenstamp.autopilot.protocol.WireRecords ")),
                "the stamp was encoded by the wire codec");
        List<String> unwanted = loaded.stream()
                .filter(l -> l.contains(" sun.security.ssl.") || l.contains(" jdk.internal.net.http.")
                        || l.contains(" com.fasterxml.jackson.databind.") || l.contains(" sun.security.ec."))
                .toList();
        assertEquals(List.of(), unwanted.subList(0, Math.min(5, unwanted.size())),
                unwanted.size() + " HTTP client, TLS, Jackson data binding or SunEC classes loaded by a tcp:// box with no update to fetch");
    }

    @Test
    void theSequenceContinuesAfterARestart() throws Exception {
        Path config = config();
        Run first = new Run("--config", config.toString());
        first.type(Vectors.cardText("valid"));
        first.type(Vectors.cardText("valid"));
        assertTrue(first.nextLine().endsWith("seq=1"));
        assertTrue(first.nextLine().endsWith("seq=2"));
        first.process.destroy();
        first.exit();

        Run second = new Run("--config", config.toString());
        second.type(Vectors.cardText("valid"));
        assertEquals("ACCEPTED_OFFLINE card=ABCDEFGHJKMNPQRS program=coffee seq=3", second.nextLine());
    }

    @Test
    void everyConfirmedStampSurvivesAKill() throws Exception {
        Run run = new Run("--config", config().toString());
        int confirmed = 0;
        for (int i = 0; i < 20; i++) {
            run.type(Vectors.cardText("valid"));
        }
        for (int i = 0; i < 20; i++) {
            if (run.nextLine().startsWith("ACCEPTED")) {
                confirmed++;
            }
        }
        run.process.destroyForcibly(); // SIGKILL: no shutdown hook, no H2 SHUTDOWN
        run.exit();
        Outbox outbox = Outbox.open(dir.resolve("outbox"), Clock.systemUTC());
        try {
            assertEquals((long) confirmed, outbox.count().get());
        } finally {
            outbox.close(Duration.ofSeconds(5));
        }
    }
}
