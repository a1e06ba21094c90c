package app.sevenstamp.autopilot.gateway.e2e;

import static org.awaitility.Awaitility.await;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.awaitility.core.ConditionTimeoutException;

/**
 * The real sink as operators run it, {@code java -jar autopilot-sink.jar serve --config FILE}, in its own
 * process so that it can die by SIGKILL and start again on the same store. It listens on a new HTTP
 * port on each start, which its log names; stdout gets its one ready line, once it is subscribed.
 */
final class SinkProcess implements AutoCloseable {
    private static final Pattern READY = Pattern.compile("sink ready broker=\\S+ http=http://\\S+");
    private static final Pattern LISTENING = Pattern.compile("HTTP server listening on (http://\\S+)");
    private static final String STARTED = "sink started in";

    private final Process process;
    private final URI http;
    private final Path log;

    private SinkProcess(Process process, URI http, Path log) {
        this.process = process;
        this.http = http;
        this.log = log;
    }

    /**
     * Starts the sink and waits until its HTTP API listens and, with {@code brokerUp}, until it is subscribed
     * (its ready line). Without a broker the sink runs and keeps connecting, but prints no ready line yet.
     */
    static SinkProcess start(Path config, Path out, Path log, Map<String, String> environment, boolean brokerUp,
            Duration timeout) {
        if (!Files.isRegularFile(SinkCli.JAR)) {
            throw new AssertionError(SinkCli.JAR.toAbsolutePath() + " is missing: the reactor builds cloud-sink before gateway");
        }
        List<String> command = new ArrayList<>(List.of(ProcessHandle.current().info().command().orElse("java"),
                "-Xmx256m", "-jar", SinkCli.JAR.toString(), "serve", "--config", config.toString()));
        ProcessBuilder builder = new ProcessBuilder(command).redirectOutput(out.toFile()).redirectError(log.toFile());
        builder.environment().putAll(environment);
        Process p;
        try {
            p = builder.start();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        try {
            await().atMost(timeout).pollInterval(Duration.ofMillis(50)).until(() -> !p.isAlive()
                    || read(log).contains(STARTED) && (!brokerUp || READY.matcher(read(out)).find()));
        } catch (ConditionTimeoutException e) {
            p.destroyForcibly();
            throw new AssertionError("the sink did not start within " + timeout + (brokerUp ? " (waiting for its ready line)" : "")
                    + ":\n" + read(log));
        }
        Matcher m = LISTENING.matcher(read(log));
        if (!p.isAlive() || !m.find()) {
            p.destroyForcibly();
            throw new AssertionError("the sink did not start: stdout '" + read(out).strip() + "'; log:\n" + read(log));
        }
        return new SinkProcess(p, URI.create(m.group(1)), log);
    }

    /** The HTTP API of this run, e.g. {@code http://127.0.0.1:41234}. */
    URI http() {
        return http;
    }

    boolean isAlive() {
        return process.isAlive();
    }

    /** SIGKILL: a crash, or a power cut as far as the process can tell. */
    void kill() throws InterruptedException {
        process.destroyForcibly();
        if (!process.waitFor(10, TimeUnit.SECONDS)) {
            throw new AssertionError("the sink did not die within 10 s of SIGKILL");
        }
    }

    /** SIGTERM, as systemd stops it; fails when it takes longer than {@code timeout}. */
    void terminate(Duration timeout) throws InterruptedException {
        process.destroy();
        if (!process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
            process.destroyForcibly();
            throw new AssertionError("the sink did not stop within " + timeout + " of SIGTERM:\n" + log());
        }
    }

    String log() {
        return read(log);
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

    private static String read(Path file) {
        try {
            return Files.readString(file, StandardCharsets.UTF_8);
        } catch (IOException e) {
            return "";
        }
    }
}
