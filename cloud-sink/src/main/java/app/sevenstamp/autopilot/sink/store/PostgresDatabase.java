package app.sevenstamp.autopilot.sink.store;

import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import com.zaxxer.hikari.pool.HikariPool;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;

/**
 * A PostgreSQL database, which several sink instances may share (one per {@code $share} subscriber).
 *
 * <p>Durability: with PostgreSQL's defaults ({@code fsync=on}, {@code synchronous_commit=on}) a
 * commit returns only once its WAL record is on the disk, so {@link #sync} has nothing left to do.
 * The event id's primary key (with {@code ON CONFLICT DO NOTHING}) is what keeps two instances from
 * counting one event twice; card rows are locked with {@code SELECT ... FOR UPDATE}.
 */
public final class PostgresDatabase implements Database {
    /** pg_advisory_xact_lock key for migrations: any constant both instances agree on. */
    private static final long MIGRATION_LOCK = 0x7_57A3_0001L;

    private final String url;
    private final HikariDataSource pool;

    private PostgresDatabase(String url, HikariDataSource pool) {
        this.url = url;
        this.pool = pool;
    }

    /**
     * Connects a pool to {@code jdbc:postgresql://...}.
     *
     * @throws StoreException when the first connection fails: the message names the URL (never the password)
     */
    public static PostgresDatabase open(String url, String user, String password, int poolSize) {
        HikariConfig config = new HikariConfig();
        config.setJdbcUrl(url);
        if (user != null) {
            config.setUsername(user);
        }
        if (password != null) {
            config.setPassword(password);
        }
        config.setMaximumPoolSize(poolSize);
        config.setMinimumIdle(1);
        config.setPoolName("sink-store-pg");
        config.setConnectionTimeout(10_000);
        config.addDataSourceProperty("ApplicationName", "7stamp-autopilot-sink");
        try {
            return new PostgresDatabase(url, new HikariDataSource(config));
        } catch (HikariPool.PoolInitializationException e) {
            Throwable cause = e.getCause() == null ? e : e.getCause();
            throw new StoreException("store " + url + " cannot be reached: " + SinkStore.firstLine(cause.getMessage())
                    + "; check store.url, store.user and store.password, and that PostgreSQL is running", e);
        }
    }

    @Override
    public Connection connection() throws SQLException {
        return pool.getConnection();
    }

    @Override
    public String describe() {
        return "store " + url;
    }

    @Override
    public String ddl(String ddl) {
        return ddl.replace("TIMESTAMP(9)", "TIMESTAMP(6)").replace("VARBINARY(65536)", "BYTEA");
    }

    @Override
    public String insertIgnoringDuplicate(String insert, String keyColumn) {
        return insert + " ON CONFLICT (" + keyColumn + ") DO NOTHING";
    }

    @Override
    public void lockForMigration(Connection c) throws SQLException {
        try (Statement st = c.createStatement()) {
            st.execute("SELECT pg_advisory_xact_lock(" + MIGRATION_LOCK + ")");
        }
    }

    @Override
    public void sync(Connection c) {
        // Every commit is already durable (synchronous_commit=on).
    }

    @Override
    public void close() {
        pool.close();
    }
}
