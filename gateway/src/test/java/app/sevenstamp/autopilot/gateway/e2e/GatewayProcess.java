package app.sevenstamp.autopilot.gateway.e2e;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;

/**
 * The real gateway: {@code java -jar target/autopilot-gateway.jar --config FILE} as a child process,
 * exactly as systemd starts it. Its stdout (the console feedback) is collected line by line; its
 * stderr (the log) goes to a file the test prints when something fails.
 */
final class GatewayProcess implements AutoCloseable {
    static final Path JAR = Path.of("target", "autopilot-gateway.jar");

    private final Process process;
    private final Path log;
    private final LinkedBlockingQueue<String> unread = new LinkedBlockingQueue<>();
    private final List<String> seen = new ArrayList<>();
    private final java.util.concurrent.CountDownLatch stdoutDone = new java.util.concurrent.CountDownLatch(1);

    private GatewayProcess(Process process, Path log) {
        this.process = process;
        this.log = log;
        Thread reader = new Thread(this::readStdout, "gateway-stdout");
        reader.setDaemon(true);
        reader.start();
    }

    static GatewayProcess start(Path config, Path log, List<String> command) {
        return start(log, command, Map.of());
    }

    /** This command (a JVM and its options, the jar, {@code config}) with these variables added to its environment. */
    static GatewayProcess start(Path config, Path log, List<String> command, Map<String, String> environment) {
        return start(log, command, environment);
    }

    private static GatewayProcess start(Path log, List<String> command, Map<String, String> environment) {
        if (!Files.isRegularFile(JAR)) {
            throw new AssertionError(JAR.toAbsolutePath() + " is missing: integration tests run after `mvn package`");
        }
        try {
            ProcessBuilder builder = new ProcessBuilder(command).redirectError(log.toFile());
            builder.environment().putAll(environment);
            return new GatewayProcess(builder.start(), log);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** The gateway on this machine's JVM. */
    static GatewayProcess start(Path config, Path log) {
        return start(config, log, Map.of());
    }

    /** The gateway on this machine's JVM, with these variables added to its environment (a preloaded clock, say). */
    static GatewayProcess start(Path config, Path log, Map<String, String> environment) {
        String java = ProcessHandle.current().info().command().orElse("java");
        return start(log, List.of(java, "-Xmx64m", "-jar", JAR.toString(), "--config", config.toString()), environment);
    }

    /** Waits for the next stdout line that matches, skipping others; fails with the log on timeout. */
    String awaitLine(Predicate<String> wanted, Duration timeout, String what) {
        long deadline = System.nanoTime() + timeout.toNanos();
        try {
            while (true) {
                long left = deadline - System.nanoTime();
                String line = left <= 0 ? null : unread.poll(left, TimeUnit.NANOSECONDS);
                if (line == null) {
                    throw new AssertionError("gateway did not print " + what + " within " + timeout
                            + "; stdout so far: " + seen() + "\nlog:\n" + log());
                }
                if (wanted.test(line)) {
                    return line;
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError("interrupted", e);
        }
    }

    /** Waits until the log (stderr) contains the text. */
    void awaitLog(String text, Duration timeout) {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (!log().contains(text)) {
            if (!process.isAlive()) {
                throw new AssertionError("gateway exited with " + process.exitValue() + " before logging '" + text + "':\n" + log());
            }
            if (System.nanoTime() > deadline) {
                throw new AssertionError("gateway did not log '" + text + "' within " + timeout + ":\n" + log());
            }
            try {
                Thread.sleep(20); // the log is a file written by another process; nothing to block on
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new AssertionError("interrupted", e);
            }
        }
    }

    /** Types one line into the gateway's stdin (scanner.type=stdin). */
    void type(String line) {
        try {
            process.getOutputStream().write((line + "\n").getBytes(StandardCharsets.UTF_8));
            process.getOutputStream().flush();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** The gateway's stdin, where a {@code scanner.type=stdin} gateway reads its scans. */
    java.io.OutputStream stdin() {
        return process.getOutputStream();
    }

    /** Waits until stdout is closed (the process ended and everything it printed was read). */
    void awaitStdoutClosed(Duration timeout) throws InterruptedException {
        stdoutDone.await(timeout.toMillis(), TimeUnit.MILLISECONDS);
    }

    boolean isAlive() {
        return process.isAlive();
    }

    long pid() {
        return process.pid();
    }

    /** SIGTERM, as systemd stops it; returns how long the process took to exit. */
    Duration terminate(Duration timeout) throws InterruptedException {
        long start = System.nanoTime();
        process.destroy();
        if (!process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
            process.destroyForcibly();
            throw new AssertionError("gateway did not stop within " + timeout + " of SIGTERM:\n" + log());
        }
        return Duration.ofNanos(System.nanoTime() - start);
    }

    /** SIGKILL: what a crash or a power cut looks like to the process. */
    void kill() throws InterruptedException {
        process.destroyForcibly();
        process.waitFor(10, TimeUnit.SECONDS);
    }

    int exitValue() {
        return process.exitValue();
    }

    synchronized List<String> seen() {
        return List.copyOf(seen);
    }

    String log() {
        try {
            return Files.readString(log, StandardCharsets.UTF_8);
        } catch (IOException e) {
            return "(no log: " + e.getMessage() + ")";
        }
    }

    @Override
    public void close() throws InterruptedException {
        if (process.isAlive()) {
            process.destroy();
            if (!process.waitFor(10, TimeUnit.SECONDS)) {
                process.destroyForcibly();
            }
        }
    }

    private void readStdout() {
        try (BufferedReader in = new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8))) {
            String line;
            while ((line = in.readLine()) != null) {
                String plain = line.replaceAll("\u001B\\[[0-9;]*m", "").replace("\u0007", "");
                synchronized (this) {
                    seen.add(plain);
                }
                unread.add(plain);
            }
        } catch (IOException e) {
            // the process ended
        } finally {
            stdoutDone.countDown();
        }
    }
}
