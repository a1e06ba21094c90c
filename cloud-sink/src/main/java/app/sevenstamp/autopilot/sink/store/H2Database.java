package app.sevenstamp.autopilot.sink.store;

import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import com.zaxxer.hikari.pool.HikariPool;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import org.tinylog.Logger;

/**
 * The single-box database: an H2 file, {@code <file>.mv.db}, used by this process alone.
 *
 * <p>Durability: {@code WRITE_DELAY=0} writes every commit to the file at once and {@link #sync}
 * ({@code CHECKPOINT SYNC}) forces the file to the disk, but H2 2.5 can still lose synced commits
 * after a crash, or roll back at the first clean close after one (docs/durability.md). So the ingest
 * does not rely on it: each acknowledged batch is in {@code IngestRedo}'s log first.
 */
public final class H2Database implements Database {
    private final Path file;
    private final HikariDataSource pool;

    private final String fileSystem;

    private H2Database(Path file, HikariDataSource pool, String fileSystem) {
        this.file = file;
        this.pool = pool;
        this.fileSystem = fileSystem;
    }

    /**
     * Opens (or creates) {@code <databaseFile>.mv.db}.
     *
     * @throws StoreException when the directory cannot be created, the file is in use by another
     *         process, or it cannot be read. The sink refuses to start then: this database is the
     *         only record of every customer's stamps, so starting empty beside it would be worse.
     */
    public static H2Database open(Path databaseFile, int poolSize) {
        return open(databaseFile, poolSize, "file:", "");
    }

    /**
     * As {@link #open(Path, int)}, through H2's file system {@code fileSystem} (its URL prefix, {@code file:}
     * normally) and with extra URL {@code settings}: how the power-cut test records every write below H2.
     */
    public static H2Database open(Path databaseFile, int poolSize, String fileSystem, String settings) {
        Path file = databaseFile.toAbsolutePath().normalize();
        try {
            Files.createDirectories(file.getParent());
        } catch (IOException e) {
            throw new StoreException("store directory " + file.getParent() + " cannot be created: " + e.getMessage(), e);
        }
        HikariConfig config = new HikariConfig();
        // DB_CLOSE_ON_EXIT=FALSE: H2's own shutdown hook would close the database while the
        // sink's hook is still draining the ingest queue; the sink runs SHUTDOWN itself, last.
        config.setJdbcUrl("jdbc:h2:" + fileSystem + file + ";DB_CLOSE_ON_EXIT=FALSE;WRITE_DELAY=0;LOCK_TIMEOUT=10000"
                + settings);
        config.setUsername("sink");
        config.setPassword("");
        config.setMaximumPoolSize(poolSize);
        config.setMinimumIdle(1);
        config.setPoolName("sink-store-h2");
        config.setConnectionTimeout(10_000);
        try {
            return new H2Database(file, new HikariDataSource(config), fileSystem);
        } catch (HikariPool.PoolInitializationException e) {
            throw new StoreException(openFailure(file, e.getCause()), e);
        }
    }

    static String openFailure(Path file, Throwable cause) {
        String what = file + ".mv.db";
        if (cause instanceof SQLException sql && sql.getErrorCode() == org.h2.api.ErrorCode.DATABASE_ALREADY_OPEN_1) {
            return "store " + what + " is in use by another process; is another sink running with the same store.dir?";
        }
        return "store " + what + " cannot be opened: " + SinkStore.firstLine(cause == null ? null : cause.getMessage())
                + "; the sink does not start on a store it cannot read: restore a backup, or move the file aside to"
                + " start with an empty store";
    }

    public Path file() {
        return file;
    }

    /** H2's file-system prefix this database runs on ({@code file:} normally). */
    public String fileSystem() {
        return fileSystem;
    }

    @Override
    public Connection connection() throws SQLException {
        return pool.getConnection();
    }

    @Override
    public String describe() {
        return "store " + file + ".mv.db";
    }

    /**
     * The ledger's ids are handed out 1,000 at a time instead of H2's default 32. Each time H2's cache
     * of identity values runs out it writes the sequence in a commit of its own, and with
     * {@code WRITE_DELAY=0} that commit stores the whole MVStore on the ingest thread: 28 % of its
     * samples on H2 in scripts/bench-sink (JFR, docs/perf/sink-ingest.md), more than the batches' own
     * commits. One process owns the file and the cache is the database's, so ids still rise in the
     * order lines are inserted; a crash skips the rest of the cached range (ids 1..300, killed, then
     * 1001..), never reuses one. Not on PostgreSQL: there the cache is per session, and two instances
     * would interleave ranges out of insertion order (the webhook cursor follows ledger ids). A
     * constant, not a setting: nothing about the site changes the answer.
     */
    private static final int LEDGER_ID_CACHE = 1000;

    @Override
    public void tune(Connection c) throws SQLException {
        try (java.sql.Statement st = c.createStatement()) {
            st.execute("ALTER TABLE ledger ALTER COLUMN id SET CACHE " + LEDGER_ID_CACHE);
        }
    }

    @Override
    public String ddl(String ddl) {
        return ddl;
    }

    @Override
    public String insertIgnoringDuplicate(String insert, String keyColumn) {
        return insert;
    }

    @Override
    public void lockForMigration(Connection c) {
        // The H2 file is locked by this process alone: nobody else can migrate it meanwhile.
    }

    @Override
    public void sync(Connection c) throws SQLException {
        try (Statement st = c.createStatement()) {
            st.execute("CHECKPOINT SYNC");
        }
    }

    /** Runs SHUTDOWN (which writes and closes the file cleanly), then closes the pool. */
    @Override
    public void close() {
        Connection c = null;
        try {
            c = pool.getConnection();
            try (Statement st = c.createStatement()) {
                st.execute("SHUTDOWN");
            } catch (SQLException e) {
                Logger.warn("{}: SHUTDOWN failed: {}", describe(), SinkStore.reason(e));
            }
        } catch (SQLException e) {
            Logger.warn("{}: no connection for SHUTDOWN: {}", describe(), SinkStore.reason(e));
        } finally {
            if (c != null) {
                // Evicting closes H2's connection. Not closed through the pool as well: the pool would reset the closed
                // session, and H2 would write "Database is already closed" into its trace file at every stop.
                pool.evictConnection(c);
            }
            pool.close();
        }
    }
}
