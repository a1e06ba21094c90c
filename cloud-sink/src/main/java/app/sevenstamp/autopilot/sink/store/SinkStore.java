package app.sevenstamp.autopilot.sink.store;

import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.OptionalLong;
import org.tinylog.Logger;

/**
 * The sink's store: cards, every decided event, and the last sequence number per device, on a
 * {@link Database} (an H2 file for one box, PostgreSQL for several instances). The SQL is the same
 * on both; the few differences live in the {@link Database} implementations. This class owns the
 * transactions and the pooled reads; the SQL of each row group lives in a package-private class it
 * delegates to: {@link CardRows}, {@link EventRows}, {@link DeviceRows} (devices and their gaps).
 *
 * <p>Threading: thread-safe. Each call takes its own pooled connection; writes go through
 * {@link #transaction}, reads are single statements. The duplicate check rests on the primary key
 * of {@code events} rather than on a read before the write, so two writers (or two sink instances
 * on a shared database) cannot count one event twice.
 *
 * <p>Durability: see the {@link Database} implementations; {@link #sync()} is called once per
 * batch, before the batch is acknowledged.
 */
public final class SinkStore implements AutoCloseable {
    static final String DUPLICATE_KEY = "23505";
    /** Serialization failure and deadlock victim: the transaction was rolled back and may simply run again. */
    private static final java.util.Set<String> RETRYABLE = java.util.Set.of("40001", "40P01");
    private static final int MAX_ATTEMPTS = 3;
    /** Connections per pool: the ingest and its check thread (dead letters), the HTTP API's four threads, and some room. */
    public static final int DEFAULT_POOL_SIZE = 8;

    private final Database db;

    private SinkStore(Database db) {
        this.db = db;
    }

    /** Opens (or creates) the H2 database {@code <databaseFile>.mv.db}; see {@link H2Database#open}. */
    public static SinkStore open(Path databaseFile) {
        return open(H2Database.open(databaseFile, DEFAULT_POOL_SIZE));
    }

    /**
     * Brings the database's schema up to date ({@link Migrations}) and returns the store on it. On
     * failure the database is closed.
     */
    public static SinkStore open(Database db) {
        try {
            int version = Migrations.migrate(db, Migrations.ALL);
            try (Connection c = db.connection()) {
                db.tune(c);
            } catch (SQLException e) {
                throw new StoreException(db.describe() + ": cannot apply its settings: " + firstLine(e.getMessage()), e);
            }
            Logger.info("{} open (schema version {})", db.describe(), version);
            return new SinkStore(db);
        } catch (RuntimeException e) {
            db.close();
            throw e;
        }
    }

    /** What the store is, for messages. */
    public String describe() {
        return db.describe();
    }

    /** A pooled connection (auto-commit) for the fleet registry's own tables; the caller closes it. */
    public Connection connection() throws SQLException {
        return db.connection();
    }

    /** One unit of work inside one transaction. */
    @FunctionalInterface
    public interface Work<T> {
        T run(Tx tx) throws SQLException;
    }

    /**
     * Runs {@code work} in one transaction and commits it; rolls back on any exception. A race
     * with another writer over a new card row is retried from the start, up to three attempts.
     */
    public <T> T transaction(Work<T> work) {
        for (int attempt = 1; ; attempt++) {
            try (Connection c = db.connection()) {
                c.setAutoCommit(false);
                try {
                    Tx tx = new Tx(c, db);
                    T result = work.run(tx);
                    c.commit();
                    tx.afterCommit.forEach(Runnable::run);
                    return result;
                } catch (Tx.Conflict conflict) {
                    c.rollback();
                    if (attempt >= MAX_ATTEMPTS) {
                        throw new StoreException("card row conflict persisted after " + attempt + " attempts", conflict);
                    }
                    Logger.debug("retrying a transaction after a card row conflict (attempt {})", attempt);
                } catch (SQLException e) {
                    c.rollback();
                    // PostgreSQL picked this transaction as a deadlock victim (two instances creating
                    // the same new rows in opposite orders) or refused it for serialisation: nothing
                    // of it stayed, so running it again from the start is safe.
                    if (e.getSQLState() == null || !RETRYABLE.contains(e.getSQLState()) || attempt >= MAX_ATTEMPTS) {
                        throw e;
                    }
                    Logger.debug("retrying a transaction after {} (attempt {})", e.getSQLState(), attempt);
                } catch (RuntimeException e) {
                    c.rollback();
                    throw e;
                } finally {
                    c.setAutoCommit(true);
                }
            } catch (SQLException e) {
                throw new StoreException(db.describe() + ": " + reason(e), e);
            }
        }
    }

    public Optional<StoredCard> card(String cardId) {
        return read(c -> CardRows.read(c, cardId, false));
    }

    public Optional<StoredEvent> event(String eventId) {
        return read(c -> EventRows.read(c, eventId));
    }

    public OptionalLong lastSeq(String deviceId) {
        return read(c -> DeviceRows.lastSeq(c, deviceId));
    }

    /** The open gaps of one device, lowest first. */
    public List<SeqGap> gaps(String deviceId) {
        return read(c -> DeviceRows.gaps(c, deviceId));
    }

    /**
     * Open gaps over all devices and the events missing in them: {@code [gaps, missing]}, the sum
     * capped at Long.MAX_VALUE. Summed as DECIMAL: a BIGINT sum of gaps written before their span was
     * bounded overflowed, and the metrics route failed on every call ("Numeric value out of range").
     */
    public long[] gapTotals() {
        return read(DeviceRows::gapTotals);
    }

    /** The highest sequence number stored of each of {@code deviceIds} that the sink has seen; unlocked, may be stale (only ever lower). */
    public Map<String, Long> lastSeqs(java.util.Collection<String> deviceIds) {
        if (deviceIds.isEmpty()) {
            return Map.of();
        }
        List<String> ids = List.copyOf(deviceIds);
        return read(c -> DeviceRows.lastSeqs(c, ids));
    }

    public long countEvents() {
        return count("SELECT COUNT(*) FROM events");
    }

    public long countCards() {
        return count("SELECT COUNT(*) FROM cards");
    }

    /** Forces committed transactions to the disk. */
    public void sync() {
        read(c -> {
            db.sync(c);
            return null;
        });
    }

    /** Closes the database: for H2, SHUTDOWN (which writes and closes the file cleanly), then the pool. */
    @Override
    public void close() {
        db.close();
        Logger.info("store closed");
    }

    private long count(String sql) {
        return read(c -> {
            try (Statement st = c.createStatement(); ResultSet rs = st.executeQuery(sql)) {
                rs.next();
                return rs.getLong(1);
            }
        });
    }

    private interface Read<T> {
        T run(Connection c) throws SQLException;
    }

    private <T> T read(Read<T> read) {
        try (Connection c = db.connection()) {
            return read.run(c);
        } catch (SQLException e) {
            throw new StoreException(db.describe() + ": " + reason(e), e);
        }
    }

    /**
     * An exception's first line, and what caused it when H2 hides that: after a write it could not make (a full disk)
     * H2 closes the database, and every later statement says only "The database has been closed".
     */
    public static String reason(Throwable e) {
        String first = firstLine(e.getMessage());
        Throwable root = e;
        for (int depth = 0; depth < 16 && root.getCause() != null && root.getCause() != root; depth++) {
            root = root.getCause();
        }
        return root == e || root.getMessage() == null || first.contains(firstLine(root.getMessage())) ? first
                : first + " (first: " + root + ")";
    }

    static String firstLine(String message) {
        String m = String.valueOf(message);
        int nl = m.indexOf('\n');
        return nl < 0 ? m : m.substring(0, nl);
    }

    /** The statements one transaction may run. Valid only inside {@link #transaction}. */
    public static final class Tx {
        private final Connection c;
        private final Database db;
        private final List<Runnable> afterCommit = new ArrayList<>();

        private Tx(Connection c, Database db) {
            this.c = c;
            this.db = db;
        }

        /**
         * Runs {@code action} once this attempt has committed, never for an attempt that rolled back or
         * is retried: for counters that must count what stayed, not what was tried. Keep it short and
         * non-throwing: it runs on the committing thread.
         */
        public void afterCommit(Runnable action) {
            afterCommit.add(Objects.requireNonNull(action, "action"));
        }

        /** The connection of this transaction, for statements of other packages' tables (ledger, dead letters). */
        public Connection connection() {
            return c;
        }

        /**
         * Locks the existing rows of these cards, in card id order, until the end of the transaction,
         * and returns them (by card id; a card without a row is absent): one round trip for the locks
         * and the reads of a whole batch. A batch takes its card locks up front in one global order,
         * so two instances whose batches share cards wait for each other instead of deadlocking. Rows
         * that do not exist yet are created later in the batch; a race over one of those is a
         * {@link Conflict} or a deadlock the store retries.
         */
        public Map<String, StoredCard> lockAndReadCards(Collection<String> cardIds) throws SQLException {
            return CardRows.lockAndRead(c, cardIds);
        }

        /** The stored events among these ids, by id: one round trip for the duplicate check of a whole batch. */
        public Map<String, StoredEvent> events(Collection<String> eventIds) throws SQLException {
            return EventRows.read(c, eventIds);
        }

        /** The card, locked until the end of the transaction; empty when it has no row yet. */
        public Optional<StoredCard> lockCard(String cardId) throws SQLException {
            return CardRows.read(c, cardId, true);
        }

        /**
         * Inserts the event. False when an event with this id is already stored: the primary key
         * decides, so a concurrent writer of the same id cannot slip past.
         */
        public boolean insertEvent(StoredEvent e) throws SQLException {
            return EventRows.insert(c, db, e);
        }

        /**
         * Inserts new events in one JDBC batch. The caller checked that none of them is stored
         * ({@link #events}); one that another writer stored since (a concurrent instance, the POS
         * route) is a {@link Conflict}: the whole transaction runs again and finds it stored then, so
         * the primary key still decides and no event counts twice.
         */
        public void insertEvents(List<StoredEvent> events) throws SQLException {
            EventRows.insertAll(c, db, events);
        }

        /** Inserts a new card or updates an existing one; {@code isNew} says which. */
        public void saveCard(StoredCard card, boolean isNew) throws SQLException {
            CardRows.save(c, card, isNew);
        }

        /**
         * Saves cards in two JDBC batches, inserts then updates, each in card id order: {@code isNew}
         * says which rows do not exist yet. Like {@link #saveCard}: a new row another writer created
         * first is a {@link Conflict}, an existing row that is gone is an error.
         */
        public void saveCards(Collection<StoredCard> cards, java.util.function.Predicate<String> isNew) throws SQLException {
            CardRows.saveAll(c, cards, isNew);
        }

        /**
         * Keeps the highest sequence number seen per device and the ranges below it that never arrived
         * ({@code device_gaps}): a number beyond the next one opens a gap, a number inside a gap shrinks
         * or closes it. Called once per new event (never for a redelivery), inside its transaction, so
         * a rolled-back event changes nothing. A device seen for the first time at seq N > 1 opens 1..N-1.
         */
        public SeqNote noteDeviceSeq(String deviceId, long seq, Instant at) throws SQLException {
            return noteDeviceSeqs(Map.of(deviceId, List.of(seq)), at).get(deviceId).get(0);
        }

        /**
         * {@link #noteDeviceSeq} for several devices and several numbers each, with one statement that
         * locks and reads all their rows (in device id order) and one JDBC batch that updates them: each
         * device's numbers are judged in the given order, each against the highest one before it,
         * exactly as if noted one by one. Returns one note per number, by device.
         */
        public Map<String, List<SeqNote>> noteDeviceSeqs(Map<String, List<Long>> seqsByDevice, Instant at)
                throws SQLException {
            return DeviceRows.note(c, seqsByDevice, at);
        }

        public Optional<StoredEvent> event(String eventId) throws SQLException {
            return EventRows.read(c, eventId);
        }

        public Optional<StoredCard> card(String cardId) throws SQLException {
            return CardRows.read(c, cardId, false);
        }

        /** Another writer created the same row first; the whole transaction is retried. */
        static final class Conflict extends RuntimeException {
            Conflict(String key, SQLException cause) {
                super("row " + key + " was created concurrently", cause);
            }
        }
    }
}
