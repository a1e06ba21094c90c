package app.sevenstamp.autopilot.sink.testing;

import app.sevenstamp.autopilot.protocol.testing.Vectors;
import app.sevenstamp.autopilot.sink.SinkServer;
import app.sevenstamp.autopilot.sink.config.SinkConfig;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Properties;

/**
 * A sink for a test, configured as an operator would (a properties file, read by the same loader), with the
 * defaults every test wants: its store under the test's folder, the embedded broker and HTTP on free ports.
 * Tests say only what differs:
 *
 * <pre>{@code
 * try (SinkServer sink = TestSink.in(dir).program("coffee", 10).set("admin.token", TOKEN).start()) { ... }
 * }</pre>
 */
public final class TestSink {
    private final Path dir;
    private final Map<String, String> keys = new LinkedHashMap<>();
    private boolean vectorKey;

    private TestSink(Path dir) {
        this.dir = dir;
        keys.put("store.dir", dir.resolve("store").toString());
        keys.put("broker.mode", "embedded");
        keys.put("broker.port", "0");
        keys.put("http.port", "0");
    }

    /** A sink whose store, signing key and properties file live under {@code dir}. */
    public static TestSink in(Path dir) {
        return new TestSink(dir);
    }

    /** Any key, as in sink.properties; replaces an earlier value. */
    public TestSink set(String key, String value) {
        keys.put(key, value);
        return this;
    }

    /** Leaves a key out, default or not, e.g. to see what a command says when it is missing. */
    public TestSink unset(String key) {
        keys.remove(key);
        return this;
    }

    /** A program of {@code stampsRequired} stamps (add its other keys with {@link #set}). */
    public TestSink program(String id, int stampsRequired) {
        return set("program." + id + ".stampsRequired", Integer.toString(stampsRequired));
    }

    /** An external broker instead of the embedded one. */
    public TestSink broker(String url) {
        keys.remove("broker.port");
        return set("broker.mode", "external").set("broker.url", url);
    }

    /**
     * Signs cards with the golden vectors' key ({@code Vectors.signer()}), so a test can make valid codes
     * without asking the sink.
     */
    public TestSink vectorKey() {
        vectorKey = true;
        return this;
    }

    /** The folder of the store (store.dir). */
    public Path storeDir() {
        return Path.of(keys.get("store.dir"));
    }

    /** Writes sink.properties (and the vectors' key, if asked) under the test's folder; returns the file. */
    public Path write() {
        try {
            if (vectorKey) {
                Files.createDirectories(storeDir());
                Path key = storeDir().resolve("signing.key");
                if (!Files.exists(key)) {
                    Files.writeString(key, "keyId=k1\nseed=" + Vectors.json("card-codes.json").get("seed").asText() + "\n",
                            StandardCharsets.UTF_8);
                }
            }
            Path file = dir.resolve("sink.properties");
            Properties p = new Properties();
            p.putAll(keys);
            try (Writer w = Files.newBufferedWriter(file, StandardCharsets.UTF_8)) {
                p.store(w, "a test's sink (TestSink)");
            }
            return file;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** The configuration, loaded from the written file as the sink's own start does. */
    public SinkConfig config() {
        return SinkConfig.load(write());
    }

    public SinkServer start() {
        return SinkServer.start(config());
    }

    /** The sink on a clock the test moves (cooldowns, expiry, file checks due). */
    public SinkServer start(Clock clock) {
        return SinkServer.start(config(), clock);
    }
}
