package app.sevenstamp.autopilot.sink;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * One sink instance as its own process from the shaded jar, on a PostgreSQL store and an external broker
 * with the {@code $share} group {@code sinks}: what the scale-out tests run two of.
 */
final class SinkProcess implements AutoCloseable {
    static final Path JAR = Path.of("target", "autopilot-sink.jar");
    private static final Pattern READY = Pattern.compile("sink ready broker=\\S+ http=(http://127\\.0\\.0\\.1:\\d+)");

    private final String name;
    private final Path dir;
    private final Process process;
    /** One client, so its polls reuse a connection: a new client per poll opens a new one each time, and past
     *  the sink's http.maxConnectionsPerClient (64) the sink closes them unanswered (ClusterNodeLossIT, in CI). */
    private final HttpClient http = HttpClient.newHttpClient();

    private SinkProcess(String name, Path dir, Process process) {
        this.name = name;
        this.dir = dir;
        this.process = process;
    }

    /** Starts sink {@code name} under {@code dir} and returns once it printed its ready line. */
    static SinkProcess start(Path dir, String name, String brokerUrl, String pgUrl, Path key, int stampsRequired)
            throws Exception {
        assertTrue(Files.isRegularFile(JAR), JAR.toAbsolutePath() + " is built by the package phase");
        Path config = dir.resolve(name + ".properties");
        Path store = dir.resolve(name);
        Files.createDirectories(store);
        Files.copy(key, store.resolve("signing.key"));
        Files.writeString(config, String.join("\n", "store.dir=" + store, "store.url=" + pgUrl, "store.user=sink",
                "broker.mode=external", "broker.url=" + brokerUrl, "mqtt.clientId=sink-" + name,
                "mqtt.shareGroup=sinks", "http.port=0", "program.coffee.stampsRequired=" + stampsRequired, ""),
                StandardCharsets.UTF_8);
        Path out = dir.resolve(name + ".out");
        Process p = new ProcessBuilder(ProcessHandle.current().info().command().orElse("java"), "-jar", JAR.toString(),
                "serve", "--config", config.toString()).redirectOutput(out.toFile())
                .redirectError(dir.resolve(name + ".log").toFile()).start();
        SinkProcess sink = new SinkProcess(name, dir, p);
        await().atMost(Duration.ofSeconds(30)).until(() -> !p.isAlive() || Files.readString(out).endsWith("\n"));
        assertTrue(p.isAlive(), () -> name + " exited: " + sink.log());
        return sink;
    }

    String log() {
        return read(dir.resolve(name + ".log"));
    }

    private static String read(Path file) {
        try {
            return Files.readString(file);
        } catch (IOException e) {
            return "(" + e.getMessage() + ")";
        }
    }

    private String http() {
        Matcher m = READY.matcher(read(dir.resolve(name + ".out")).strip());
        assertTrue(m.matches());
        return m.group(1);
    }

    /** The events this instance accepted, from its metrics. */
    long accepted() throws Exception {
        String body = http.send(HttpRequest.newBuilder(URI.create(http() + "/api/v1/metrics"))
                .build(), HttpResponse.BodyHandlers.ofString()).body();
        Matcher m = Pattern.compile("\"accepted\":(\\d+)").matcher(body);
        assertTrue(m.find(), body);
        return Long.parseLong(m.group(1));
    }

    /** The ingest's MQTT session is connected and subscribed ({@code sevenstamp_mqtt_ingest_open 1}). */
    boolean connected() throws Exception {
        String body = http.send(HttpRequest.newBuilder(URI.create(http() + "/metrics")).build(),
                HttpResponse.BodyHandlers.ofString()).body();
        return Pattern.compile("^sevenstamp_mqtt_ingest_open 1(\\.0)?$", Pattern.MULTILINE).matcher(body).find();
    }

    /** Like a crash: SIGKILL, nothing flushed or said goodbye. */
    void kill() throws InterruptedException {
        process.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
    }

    @Override
    public void close() throws InterruptedException {
        kill();
    }
}
