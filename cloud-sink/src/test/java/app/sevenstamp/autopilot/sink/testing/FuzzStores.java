package app.sevenstamp.autopilot.sink.testing;

import app.sevenstamp.autopilot.sink.store.H2Database;
import app.sevenstamp.autopilot.sink.store.SinkStore;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.stream.Stream;

/**
 * A real H2 store for a Jazzer target, which runs many inputs on one instance and has no JUnit lifecycle around
 * them: opened once in a temporary directory, closed and deleted when the JVM ends.
 */
public final class FuzzStores {
    private FuzzStores() {
    }

    public static SinkStore open(String name) {
        Path dir;
        try {
            dir = Files.createTempDirectory(name);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        SinkStore store = SinkStore.open(H2Database.open(dir.resolve("sink"), SinkStore.DEFAULT_POOL_SIZE));
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            store.close();
            try (Stream<Path> files = Files.walk(dir)) {
                files.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
            } catch (IOException e) {
                // a temporary directory left behind is no reason to fail the run
            }
        }, name + "-cleanup"));
        return store;
    }
}
