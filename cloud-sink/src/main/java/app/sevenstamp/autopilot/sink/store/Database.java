package app.sevenstamp.autopilot.sink.store;

import java.sql.Connection;
import java.sql.SQLException;

/**
 * The database under the {@link SinkStore}: a pooled connection source plus the few things that
 * differ between H2 and PostgreSQL. The store's SQL is otherwise the same on both, so both run the
 * same store code and the same tests; only what is listed here is dialect.
 *
 * <p>Implementations are thread-safe.
 */
public interface Database extends AutoCloseable {
    /**
     * This database's own settings that are not schema, applied at every open after the migrations;
     * idempotent. Nothing by default.
     */
    default void tune(Connection c) throws SQLException {
    }

    /** A pooled connection; the caller closes it. */
    Connection connection() throws SQLException;

    /** What to call this database in messages, e.g. {@code store /var/lib/sink/sink.mv.db}. */
    String describe();

    /** The DDL as this database wants it (PostgreSQL keeps timestamps to microseconds, H2 to nanoseconds). */
    String ddl(String ddl);

    /**
     * An INSERT that inserts nothing, instead of failing, when {@code keyColumn} already holds the
     * value. PostgreSQL aborts a transaction on a failed statement, so it must not fail there; H2
     * does not abort, so a caught duplicate-key error serves.
     */
    String insertIgnoringDuplicate(String insert, String keyColumn);

    /** Serialises schema migrations between processes sharing this database, until the transaction ends. */
    void lockForMigration(Connection c) throws SQLException;

    /** Makes committed transactions durable against a power cut, if commits alone do not. */
    void sync(Connection c) throws SQLException;

    /** Closes the pool (and for an embedded database, the database cleanly). */
    @Override
    void close();
}
