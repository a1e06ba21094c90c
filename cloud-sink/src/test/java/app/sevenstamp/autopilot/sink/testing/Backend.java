package app.sevenstamp.autopilot.sink.testing;

import app.sevenstamp.autopilot.sink.store.Database;
import app.sevenstamp.autopilot.sink.store.H2Database;
import app.sevenstamp.autopilot.sink.store.PostgresDatabase;
import app.sevenstamp.autopilot.sink.store.SinkStore;
import java.nio.file.Path;
import java.util.function.Supplier;

/**
 * The two databases the store runs on. Store and ingest tests are parameterised over this enum
 * ({@code @ParameterizedClass @EnumSource(Backend.class)}), so every one of them runs on both.
 */
public enum Backend {
    H2,
    POSTGRESQL;

    /** One database for one test: every {@link Fixture#open()} opens the same one again (restart tests). */
    public Fixture fixture(Path dir) {
        if (this == H2) {
            Path file = dir.resolve("sink");
            return new Fixture(() -> H2Database.open(file, SinkStore.DEFAULT_POOL_SIZE), null);
        }
        String url = PostgresCluster.shared().newDatabase();
        return new Fixture(() -> PostgresDatabase.open(url, "sink", null, SinkStore.DEFAULT_POOL_SIZE), url);
    }

    /** @param url the JDBC URL of the PostgreSQL database, null for H2 */
    public record Fixture(Supplier<Database> databases, String url) {
        public SinkStore open() {
            return SinkStore.open(databases.get());
        }

        public Database database() {
            return databases.get();
        }
    }
}
