package app.sevenstamp.autopilot.sink.testing;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import app.sevenstamp.autopilot.sink.SinkServer;
import app.sevenstamp.autopilot.sink.cli.SinkCli;
import app.sevenstamp.autopilot.sink.config.SinkConfig;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * A sink a box can be provisioned against, as the systemd and package tests need it: in this JVM, its
 * embedded broker and HTTP API on free ports of 127.0.0.1, fleet provisioning on, the program "coffee"
 * (5 stamps), and the operator's command line pointed at it.
 */
public final class FleetSink implements AutoCloseable {
    private final SinkServer server;
    private final Path config;
    private final String url;

    private FleetSink(SinkServer server, Path config) {
        this.server = server;
        this.config = config;
        this.url = "http://127.0.0.1:" + server.httpPort();
    }

    /** Starts it with its store under {@code dir}/sink and waits until its fleet service is on the broker. */
    public static FleetSink start(Path dir, Duration ready) throws InterruptedException {
        Path config = TestSink.in(dir).set("store.dir", dir.resolve("sink").toString())
                .set("fleet.provisioning", "true").program("coffee", 5).write();
        FleetSink fleet = new FleetSink(SinkServer.start(SinkConfig.load(config)), config);
        try {
            assertTrue(fleet.server.fleet().awaitReady(ready), "fleet ready on the embedded broker");
        } catch (InterruptedException | RuntimeException | AssertionError e) {
            fleet.close();
            throw e;
        }
        return fleet;
    }

    public SinkServer server() {
        return server;
    }

    /** The sink's HTTP API, {@code http://127.0.0.1:PORT}. */
    public String url() {
        return url;
    }

    /** A command against the running sink's HTTP API ({@code claims}, {@code devices}, ...); fails unless it exits 0. */
    public String api(String... args) {
        List<String> line = new ArrayList<>(List.of(args));
        line.addAll(List.of("--url", url));
        return local(line.toArray(String[]::new));
    }

    /** A command that reads only the sink's configuration and files ({@code update key}); fails unless it exits 0. */
    public String local(String... args) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        List<String> line = new ArrayList<>(List.of(args));
        line.addAll(List.of("--config", config.toString()));
        int status = new SinkCli(new PrintStream(out, true, StandardCharsets.UTF_8), new PrintStream(err, true, StandardCharsets.UTF_8))
                .run(line.toArray(String[]::new));
        String printed = out.toString(StandardCharsets.UTF_8);
        assertEquals(0, status, String.join(" ", args) + ": " + printed + err.toString(StandardCharsets.UTF_8));
        return printed;
    }

    @Override
    public void close() {
        server.close();
    }
}
