package app.sevenstamp.autopilot.gateway.e2e;

import app.sevenstamp.autopilot.protocol.support.Settings;
import app.sevenstamp.autopilot.sink.config.SinkConfig;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Properties;

/**
 * The sink configuration the fault-injection tests share: an external broker (or none yet), the store under
 * the test's folder, one program "coffee". The same file serves a sink in this JVM and one in a subprocess.
 */
final class FaultSinkFiles {
    private FaultSinkFiles() {
    }

    /** Writes {@code dir/sink.properties}; a null broker URL points at a closed port until a broker exists. */
    static Path write(Path dir, String brokerUrl, int stampsRequired) throws IOException {
        Properties p = new Properties();
        p.setProperty("store.dir", dir.resolve("sink").toString());
        p.setProperty("http.port", "0");
        p.setProperty("broker.mode", "external");
        p.setProperty("broker.url", brokerUrl == null ? "tcp://127.0.0.1:1" : brokerUrl);
        p.setProperty("program.coffee.stampsRequired", Integer.toString(stampsRequired));
        Path file = dir.resolve("sink.properties");
        try (var out = Files.newBufferedWriter(file, StandardCharsets.UTF_8)) {
            p.store(out, "fault-injection sink");
        }
        return file;
    }

    /** Writes the file as {@link #write} does and reads it back as the sink would. */
    static SinkConfig config(Path dir, String brokerUrl, int stampsRequired) throws IOException {
        Path file = write(dir, brokerUrl, stampsRequired);
        Properties p = new Properties();
        try (var in = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
            p.load(in);
        }
        return SinkConfig.from(new Settings(p, file.toString()));
    }
}
