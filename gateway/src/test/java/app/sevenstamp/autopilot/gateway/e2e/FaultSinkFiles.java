package app.sevenstamp.autopilot.gateway.e2e;

import app.sevenstamp.autopilot.sink.config.SinkConfig;
import app.sevenstamp.autopilot.sink.testing.TestSink;
import java.nio.file.Path;

/**
 * The sink configuration the fault-injection tests share: an external broker (or none yet), the store under
 * the test's folder, one program "coffee". The same file serves a sink in this JVM and one in a subprocess.
 */
final class FaultSinkFiles {
    private FaultSinkFiles() {
    }

    private static TestSink sink(Path dir, String brokerUrl, int stampsRequired) {
        return TestSink.in(dir).set("store.dir", dir.resolve("sink").toString())
                .broker(brokerUrl == null ? "tcp://127.0.0.1:1" : brokerUrl).program("coffee", stampsRequired);
    }

    /** Writes {@code dir/sink.properties}; a null broker URL points at a closed port until a broker exists. */
    static Path write(Path dir, String brokerUrl, int stampsRequired) {
        return sink(dir, brokerUrl, stampsRequired).write();
    }

    /** Writes the file as {@link #write} does and reads it back as the sink would. */
    static SinkConfig config(Path dir, String brokerUrl, int stampsRequired) {
        return sink(dir, brokerUrl, stampsRequired).config();
    }
}
