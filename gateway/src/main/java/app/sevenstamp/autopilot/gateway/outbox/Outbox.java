package app.sevenstamp.autopilot.gateway.outbox;

import app.sevenstamp.autopilot.protocol.EventKind;
import app.sevenstamp.autopilot.protocol.MalformedMessageException;
import app.sevenstamp.autopilot.protocol.StampEvent;
import app.sevenstamp.autopilot.protocol.WireCodec;
import app.sevenstamp.autopilot.protocol.support.NamedThreads;
import app.sevenstamp.autopilot.protocol.support.RedoLog;
import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.PriorityBlockingQueue;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.tinylog.Logger;

/**
 * The durable outbox: every stamp the gateway confirmed, until the sink acknowledges it. The single
 * source of truth for what still has to be sent (Paho keeps nothing).
 *
 * <p>Threading: one thread ({@code outbox}) owns the H2 connection and runs every operation; callers
 * get {@link CompletableFuture}s and never touch JDBC. Appends go first: a scan waiting for its
 * green light never queues behind the drain's reads and deletes (at most behind the one operation
 * that is running). The task queue is bounded: when it is full a call fails at once (counted).
 *
 * <p>Durability: H2 is not the durable record; the redo log ({@code outbox.redo}, {@link OutboxRedo}) is.
 * H2 2.5 loses commits it wrote and synced when the process dies after freed space began to be reused
 * (RETENTION_TIME, 45 s), and after a crash can roll back to an older state at the next clean close
 * (docs/durability.md). So an append inserts its row, writes it to the redo log and {@code fdatasync}s
 * that, and only then commits H2 and completes: a completed append is on the storage medium, as far
 * as the medium honours a flush. The log holds every event not yet acknowledged; at every open of H2
 * (start, reopen after an error, after a compaction) the log is replayed into it. When the log has
 * grown well past the backlog it is rewritten from H2 (new file, fsync, atomic rename). The directory
 * is fsynced after the files are created, so their names survive a power cut too.
 *
 * <p>File size: H2 keeps freed space for {@code RETENTION_TIME} (45 s) before reusing it, so a store
 * that commits hundreds of times a second grows by ~40 KB per commit for that long. The outbox compacts
 * ({@code SHUTDOWN COMPACT}, a clean close that rewrites the live rows, then reopen) when the backlog is
 * small (at most 1,000 rows) and the file is above 4 MB, and whatever the backlog when the file reaches
 * a quarter of {@code outbox.maxBytes} and has grown by an eighth of it since the last compaction (so a
 * large backlog does not make every operation compact).
 *
 * <p>Capacity ({@link OutboxLimits}): an append beyond a limit is refused with
 * {@link OutboxFullException}; past {@code nearFullPercent} the health turns NEAR_FULL. A write error
 * (a disk that filled up behind our back) closes H2's store; the next operation reopens it.
 */
public final class Outbox implements AutoCloseable {
    private static final int MAX_QUEUED_TASKS = 4096;
    /** A bigger file with an empty backlog is compacted ({@code SHUTDOWN COMPACT}, then reopened). */
    static final long COMPACT_ABOVE_BYTES = 4L << 20;
    private static final long REOPEN_INTERVAL_NANOS = TimeUnit.SECONDS.toNanos(1);
    private static final int DELETE_BATCH = 1000;
    /** H2's page split size in bytes: see {@link #connect}. */
    static final int H2_PAGE_SIZE = 4096;
    /** A redo log is rewritten (acknowledged rows dropped) past this size and twice the backlog's. */
    static final long REDO_REWRITE_BYTES = 1L << 20;
    /** Generous bytes per waiting event in the redo log, to judge when a rewrite pays. */
    private static final long REDO_BYTES_PER_EVENT = 1024;
    private static final DateTimeFormatter STAMP = DateTimeFormatter.ofPattern("yyyyMMdd'T'HHmmss'Z'")
            .withZone(ZoneOffset.UTC);

    private final Path dir;
    private final Path file;
    private final Path dbFile;
    private final Clock clock;
    private final OutboxLimits limits;
    private final Storage storage;
    private final Path redoFile;
    private final WireCodec codec = new WireCodec();
    private final PriorityBlockingQueue<Job> jobs = new PriorityBlockingQueue<>(64,
            Comparator.comparingInt(Job::priority).thenComparingLong(Job::order));
    private final AtomicInteger queued = new AtomicInteger();
    private final AtomicLong order = new AtomicLong();
    private final Thread owner;
    private final ConcurrentLinkedQueue<PendingDelete> deletes = new ConcurrentLinkedQueue<>();
    private final AtomicBoolean deleteScheduled = new AtomicBoolean();
    private final AtomicLong refused = new AtomicLong();
    private final AtomicLong compactions = new AtomicLong();
    private final AtomicLong appends = new AtomicLong();
    /** Rows stored with an unsynchronised clock since open (plus those found at open): see {@link #unsyncedAppends}. */
    private final AtomicLong unsynced = new AtomicLong();
    private final AtomicLong appendNanos = new AtomicLong();
    private final AtomicLong maxAppendNanos = new AtomicLong();
    private volatile boolean closed;
    private volatile long backlog;
    private volatile long fileBytes;
    private volatile long usableBytes = Long.MAX_VALUE;
    private volatile OutboxHealth health = OutboxHealth.OK;
    private volatile SalvageReport salvage;
    private volatile OutboxRedo.Replayed lastReplay;
    // touched only on the owner thread
    private Connection connection;
    private PreparedStatement nextSeq;
    private PreparedStatement bumpSeq;
    private PreparedStatement insert;
    private PreparedStatement selectPending;
    private PreparedStatement deleteById;
    private PreparedStatement insertHistory;
    private PreparedStatement pruneHistory;
    private Statement misc;
    /** System.nanoTime() of the last prune of counter_history; owner thread only. */
    private long lastHistoryPrune;
    /** How long counter_history keeps a stamp: set from the counter rules (their cooldown, at least a day). */
    private volatile Duration historyRetention = Duration.ofHours(26);
    private long lastReopenAttempt;
    private RedoLog redo;
    /** File size right after the last compaction; owner thread only. */
    private long sizeAfterCompaction;

    private record Job(int priority, long order, Runnable run) {
    }

    /**
     * Where the files live: H2's file-system prefix and extra URL settings, and how the redo log is
     * opened. Production uses the real file system; a test plugs in one that records writes and syncs
     * and throws away what was not synced (a power cut).
     */
    record Storage(String h2Prefix, String h2Settings, RedoLog.FileOps fileOps, long redoRewriteBytes) {
        static final Storage FILES = new Storage("file:", "", RedoLog.FILES, REDO_REWRITE_BYTES);
    }

    /**
     * A job's future. {@code cancel} withdraws the job only while the owner thread has not started it (the
     * job then never runs); once it has started, {@code cancel} returns false and the future completes with
     * what the job did. A caller that gave up waiting thus learns whether the work can still happen.
     */
    private static final class JobFuture<T> extends CompletableFuture<T> {
        /** Claimed by whichever comes first: the owner thread starting the job, or a cancel. */
        private final AtomicBoolean claimed = new AtomicBoolean();

        boolean start() {
            return claimed.compareAndSet(false, true);
        }

        @Override
        public boolean cancel(boolean mayInterruptIfRunning) {
            return claimed.compareAndSet(false, true) && super.cancel(false);
        }
    }

    private record PendingDelete(String eventId, CompletableFuture<Boolean> done) {
    }

    /** A row as the outbox keeps it, for salvage. */
    private record Row(long seq, String eventId, String payload, OffsetDateTime createdAt, String bootId, long mono,
            boolean clockSynced) {
    }

    private Outbox(Path dir, Clock clock, OutboxLimits limits, Storage storage) {
        this.dir = dir;
        this.file = dir.resolve("outbox");
        this.dbFile = dir.resolve("outbox.mv.db");
        this.redoFile = dir.resolve("outbox.redo");
        this.clock = clock;
        this.limits = limits;
        this.storage = storage;
        this.owner = NamedThreads.of("outbox").newThread(this::runJobs);
    }

    /** Opens (or creates) the outbox in {@code dir} with the default limits. */
    public static Outbox open(Path dir, Clock clock) throws OutboxException {
        return open(dir, clock, OutboxLimits.DEFAULT);
    }

    /**
     * Opens (or creates) the outbox in {@code dir}; waits for the schema to be ready. A file that H2
     * cannot open (corrupt) is moved aside, what can be read from it is stored again in a fresh file,
     * and the start goes on: see {@link #salvageReport()}. A file in use by another process is an error.
     */
    public static Outbox open(Path dir, Clock clock, OutboxLimits limits) throws OutboxException {
        return open(dir, clock, limits, Storage.FILES);
    }

    static Outbox open(Path dir, Clock clock, OutboxLimits limits, Storage storage) throws OutboxException {
        Objects.requireNonNull(dir, "dir");
        Objects.requireNonNull(clock, "clock");
        Objects.requireNonNull(limits, "limits");
        try {
            Files.createDirectories(dir);
        } catch (IOException e) {
            throw new OutboxException("outbox.dir " + dir + " cannot be created: " + e, e);
        }
        Outbox outbox = new Outbox(dir.toAbsolutePath(), clock, limits, storage);
        outbox.owner.start();
        try {
            outbox.submit(0, () -> {
                outbox.openOrSalvage();
                return null;
            }).get();
        } catch (ExecutionException e) {
            outbox.stopOwner();
            Throwable cause = e.getCause();
            throw new OutboxException(describeOpenFailure(outbox.dbFile, cause), cause);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            outbox.stopOwner();
            throw new OutboxException("interrupted while opening the outbox " + outbox.dbFile, e);
        }
        return outbox;
    }

    private static String describeOpenFailure(Path file, Throwable cause) {
        if (inUse(cause)) {
            return "outbox " + file + " is in use by another process (is another gateway running with the same outbox.dir?)";
        }
        return "outbox " + file + " cannot be opened: " + cause.getMessage();
    }

    private static boolean inUse(Throwable cause) {
        return cause instanceof SQLException sql && sql.getErrorCode() == org.h2.api.ErrorCode.DATABASE_ALREADY_OPEN_1;
    }

    private void openOrSalvage() throws SQLException, IOException {
        boolean existed = Files.exists(dbFile);
        boolean redoExisted = Files.exists(redoFile);
        redo = RedoLog.open(redoFile, storage.fileOps());
        if (redo.cutAtOpen() > 0) {
            Logger.warn("outbox redo log {}: {} bytes of a torn or unsynced tail cut off (no confirmed stamp is in "
                    + "them: a stamp is confirmed only after its record is synced)", redoFile, redo.cutAtOpen());
        }
        SQLException damaged = existed ? probe() : null;
        if (damaged != null) {
            salvage = salvage(damaged);
        } else {
            connect(existed);
        }
        if (!existed || !redoExisted) {
            syncDirectory();
        }
        reconcile();
        if (damaged != null || (existed && !redoExisted)) {
            // rows the log does not hold (salvaged, or stored by a release without the log): log them now
            OutboxRedo.rewrite(connection, redo);
        }
        housekeeping();
        refreshState();
    }

    /** Puts back into a freshly opened H2 what the redo log says is waiting; see {@link OutboxRedo}. */
    private void reconcile() throws SQLException, IOException {
        if (redo.bytes() == 0) {
            return;
        }
        long start = System.nanoTime();
        OutboxRedo.Replayed r = OutboxRedo.reconcile(connection, redo, codec);
        lastReplay = r;
        try (ResultSet rs = misc.executeQuery("SELECT COUNT(*) FROM outbox")) {
            rs.next();
            backlog = rs.getLong(1);
        }
        connection.commit();
        if (r.restored() > 0 || r.corrected() > 0) {
            Logger.warn("outbox redo log: {} record(s) read in {} ms; {} confirmed event(s) that H2 had lost put "
                    + "back, {} clock correction(s) applied; numbering continues at seq {}", r.records(),
                    (System.nanoTime() - start) / 1_000_000, r.restored(), r.corrected(), r.nextSeq());
        } else {
            Logger.debug("outbox redo log: {} record(s) read in {} ms; H2 had them all", r.records(),
                    (System.nanoTime() - start) / 1_000_000);
        }
    }

    /**
     * Opens the existing file read-only and checks that it has the outbox table: a damaged file must be
     * moved aside exactly as it is, and a read-write open writes to the file even when it only closes it.
     * Returns why the file is unusable, or null when it is fine.
     */
    private SQLException probe() throws SQLException {
        String url = "jdbc:h2:" + storage.h2Prefix() + file + ";ACCESS_MODE_DATA=r;DB_CLOSE_ON_EXIT=FALSE"
                + storage.h2Settings();
        try (Connection c = DriverManager.getConnection(url, "sa", "");
             Statement st = c.createStatement();
             ResultSet rs = st.executeQuery("SELECT COUNT(*) FROM INFORMATION_SCHEMA.TABLES "
                     + "WHERE TABLE_SCHEMA = 'PUBLIC' AND TABLE_NAME = 'OUTBOX'")) {
            rs.next();
            if (rs.getLong(1) == 0) {
                // Measured: garbage in the block holding H2's metadata makes it open the file as an EMPTY
                // database, without an error.
                return new SQLException("the file exists but H2 reads it as an empty database (its metadata is "
                        + "damaged)", "XX000", org.h2.api.ErrorCode.FILE_CORRUPTED_1);
            }
            // read every row once: a damaged data page shows here, before anything writes to the file
            try (ResultSet rows = st.executeQuery("SELECT COUNT(*), SUM(LENGTH(payload)), MAX(seq) FROM outbox")) {
                rows.next();
            }
            return null;
        } catch (SQLException e) {
            if (inUse(e)) {
                throw e;
            }
            return e;
        }
    }

    /** @param mustExist the file existed before: refuse it when it has no outbox table */
    private void connect(boolean mustExist) throws SQLException {
        // DB_CLOSE_ON_EXIT=FALSE: H2's own shutdown hook must not close the store before our ordered
        // shutdown has drained the pipeline; close() runs SHUTDOWN itself.
        // PAGE_SIZE: H2 splits a B-tree page past this size (16 KB otherwise) and rewrites every page a commit
        // touched, so smaller pages write less per commit: 21.6 -> 13.9 KB per stamp, an append and its
        // delete at one scan per 100 ms (OutboxWriteBench, docs/perf/drain-and-writes.md). Not stored in
        // the file: existing outboxes open as before and split their pages smaller from then on.
        String url = "jdbc:h2:" + storage.h2Prefix() + file + ";WRITE_DELAY=0;PAGE_SIZE=" + H2_PAGE_SIZE + ";DB_CLOSE_ON_EXIT=FALSE"
                + storage.h2Settings();
        connection = DriverManager.getConnection(url, "sa", "");
        connection.setAutoCommit(false);
        misc = connection.createStatement();
        try (ResultSet rs = misc.executeQuery("SELECT COUNT(*) FROM INFORMATION_SCHEMA.TABLES "
                + "WHERE TABLE_SCHEMA = 'PUBLIC' AND TABLE_NAME = 'OUTBOX'")) {
            rs.next();
            if (mustExist && rs.getLong(1) == 0) {
                // Measured: garbage in the block holding H2's metadata makes it open the file as an EMPTY
                // database, without an error. CREATE TABLE IF NOT EXISTS would then quietly start over
                // inside the damaged file (and reuse its space); treat it as the corrupt file it is,
                // before writing anything.
                throw new SQLException("the file exists but H2 reads it as an empty database (its metadata is "
                        + "damaged)", "XX000", org.h2.api.ErrorCode.FILE_CORRUPTED_1);
            }
        }
        misc.execute("CREATE TABLE IF NOT EXISTS outbox ("
                + "seq BIGINT PRIMARY KEY, "
                + "event_id VARCHAR(64) NOT NULL UNIQUE, "
                + "payload VARCHAR(" + WireCodec.MAX_PAYLOAD_BYTES + ") NOT NULL, "
                + "created_at TIMESTAMP(3) WITH TIME ZONE NOT NULL, "
                + "boot_id VARCHAR(64) NOT NULL, "
                + "mono_nanos BIGINT NOT NULL)");
        // whether the payload's wall time came from a synchronised clock; false rows of this boot are
        // corrected once the clock synchronises (rows of the first release are all taken as synced)
        misc.execute("ALTER TABLE outbox ADD COLUMN IF NOT EXISTS clock_synced BOOLEAN DEFAULT TRUE NOT NULL");
        // one row: the next sequence number, kept apart from the rows so a purge never rewinds it
        misc.execute("CREATE TABLE IF NOT EXISTS outbox_seq (id INT PRIMARY KEY CHECK (id = 1), next_seq BIGINT NOT NULL)");
        misc.execute("INSERT INTO outbox_seq (id, next_seq) SELECT 1, 1 WHERE NOT EXISTS (SELECT 1 FROM outbox_seq)");
        connection.commit();
        misc.execute("CHECKPOINT SYNC");
        nextSeq = connection.prepareStatement("SELECT next_seq FROM outbox_seq WHERE id = 1");
        bumpSeq = connection.prepareStatement("UPDATE outbox_seq SET next_seq = ? WHERE id = 1");
        insert = connection.prepareStatement("INSERT INTO outbox (seq, event_id, payload, created_at, boot_id, "
                + "mono_nanos, clock_synced) VALUES (?, ?, ?, ?, ?, ?, ?)");
        selectPending = connection.prepareStatement(
                "SELECT seq, event_id, payload, created_at, boot_id, mono_nanos FROM outbox WHERE seq > ? ORDER BY seq LIMIT ?");
        deleteById = connection.prepareStatement("DELETE FROM outbox WHERE event_id = ?");
        // the counter rules' memory of this counter's stamps: written with the stamp, kept after the ack
        misc.execute("CREATE TABLE IF NOT EXISTS counter_history (program_id VARCHAR(64) NOT NULL, "
                + "card_id VARCHAR(64) NOT NULL, stamped_at TIMESTAMP(3) WITH TIME ZONE NOT NULL)");
        misc.execute("CREATE INDEX IF NOT EXISTS counter_history_at ON counter_history(stamped_at)");
        connection.commit();
        insertHistory = connection.prepareStatement(
                "INSERT INTO counter_history (program_id, card_id, stamped_at) VALUES (?, ?, ?)");
        pruneHistory = connection.prepareStatement("DELETE FROM counter_history WHERE stamped_at < ?");
        try (ResultSet rs = misc.executeQuery("SELECT COUNT(*), COUNT(*) FILTER (WHERE NOT clock_synced) FROM outbox")) {
            rs.next();
            backlog = rs.getLong(1);
            unsynced.addAndGet(rs.getLong(2));
        }
        connection.commit();
    }

    /**
     * How many events were stored with an unsynchronised clock, counted after each commit. A caller that
     * read N here and then ran {@link #correctClock} until it returned 0 has corrected all of those N.
     */
    public long unsyncedAppends() {
        return unsynced.get();
    }

    /** Makes the new file's directory entry durable: fsync of the file alone does not cover its name. */
    private void syncDirectory() {
        try (FileChannel d = FileChannel.open(dir, StandardOpenOption.READ)) {
            d.force(true);
        } catch (IOException e) {
            // some file systems refuse to open a directory; the file's own fsync still ran
            Logger.debug("cannot fsync the directory {}: {}", dir, e.toString());
        }
    }

    /**
     * Moves the unreadable file aside (never deletes it), reads what H2's Recover tool can get out of
     * it, and stores that again in a fresh file with the same event ids and sequence numbers.
     */
    private SalvageReport salvage(SQLException problem) throws SQLException, IOException {
        String stamp = STAMP.format(clock.instant());
        String movedName = "outbox.corrupt-" + stamp;
        Path moved = dir.resolve(movedName + ".mv.db");
        for (int i = 1; Files.exists(moved); i++) {
            movedName = "outbox.corrupt-" + stamp + "-" + i;
            moved = dir.resolve(movedName + ".mv.db");
        }
        Files.move(dbFile, moved);
        syncDirectory();
        String why = firstLine(problem.getMessage());
        Logger.error("ALARM: the outbox {} cannot be opened ({}); moved it to {} and starting a fresh one; salvaging what "
                + "can be read", dbFile, why, moved);
        List<Row> rows = new ArrayList<>();
        long recoveredNext = 0;
        Path script = dir.resolve(movedName + ".h2.sql");
        try {
            org.h2.tools.Recover.execute(dir.toString(), movedName);
            if (Files.exists(script)) {
                String memUrl = "jdbc:h2:mem:salvage-" + System.nanoTime();
                try (Connection mem = DriverManager.getConnection(memUrl, "sa", "");
                     Statement st = mem.createStatement()) {
                    st.execute("RUNSCRIPT FROM '" + script.toString().replace("'", "''") + "'");
                    recoveredNext = readSalvagedSeq(st);
                    readSalvagedRows(st, rows);
                }
            }
        } catch (SQLException | RuntimeException | AssertionError | OutOfMemoryError e) {
            // AssertionError: H2's Recover asserts on some damage when the JVM runs with -ea. OutOfMemoryError:
            // its dump allocates a chunk's length as read from the damaged file (seen: garbage over a chunk
            // header); the failed allocation is all there was, the heap is as before. Under the unit's
            // -XX:+ExitOnOutOfMemoryError the gateway exits here instead and comes back with a fresh outbox;
            // the damaged file is kept either way (moved aside above, before any reading).
            Logger.error("ALARM: salvage of {} read {} event(s) before failing: {}; the file is kept for a manual recovery",
                    moved, rows.size(), firstLine(e.getMessage()));
        }
        connect(false);
        long maxSeq = rows.stream().mapToLong(Row::seq).max().orElse(0);
        long next = Math.max(Math.max(recoveredNext, maxSeq + 1), 1);
        int stored = 0;
        for (Row r : rows) {
            try {
                insert.setLong(1, r.seq());
                insert.setString(2, r.eventId());
                insert.setString(3, r.payload());
                insert.setObject(4, r.createdAt());
                insert.setString(5, r.bootId());
                insert.setLong(6, r.mono());
                insert.setBoolean(7, r.clockSynced());
                insert.executeUpdate();
                stored++;
            } catch (SQLException e) {
                Logger.warn("salvaged event seq={} id={} cannot be stored again: {}", r.seq(), r.eventId(),
                        firstLine(e.getMessage()));
            }
        }
        bumpSeq.setLong(1, next);
        bumpSeq.executeUpdate();
        connection.commit();
        backlog = stored;
        Logger.error("ALARM: outbox salvage done: {} event(s) read back from {} and queued for sending; numbering continues "
                + "at seq {}{}", stored, moved, next, recoveredNext == 0 && maxSeq == 0
                        ? " (the sequence counter could not be read: the sink may see repeated numbers)" : "");
        return new SalvageReport(moved, stored, next, why);
    }

    private static long readSalvagedSeq(Statement st) {
        try (ResultSet rs = st.executeQuery("SELECT next_seq FROM outbox_seq WHERE id = 1")) {
            return rs.next() ? rs.getLong(1) : 0;
        } catch (SQLException e) {
            Logger.warn("the sequence counter could not be salvaged: {}", firstLine(e.getMessage()));
            return 0;
        }
    }

    private static void readSalvagedRows(Statement st, List<Row> rows) throws SQLException {
        try (ResultSet rs = st.executeQuery("SELECT seq, event_id, payload, created_at, boot_id, mono_nanos, "
                + "clock_synced FROM outbox ORDER BY seq")) {
            while (rs.next()) {
                rows.add(new Row(rs.getLong(1), rs.getString(2), rs.getString(3), rs.getObject(4, OffsetDateTime.class),
                        rs.getString(5), rs.getLong(6), rs.getBoolean(7)));
            }
        }
    }

    /**
     * Compaction is due in a quiet moment (small backlog) with a file bigger than needed; or, whatever
     * the backlog, with a file past a quarter of {@code outbox.maxBytes} that grew by an eighth of it
     * since the last compaction: a counter that never pauses cannot grow the file into the limit, and a
     * large backlog (whose live rows alone are that big) does not compact at every operation.
     */
    private boolean compactDue() {
        long size = sizeOfFile();
        boolean quiet = size > COMPACT_ABOVE_BYTES && backlog <= 1000 && size > 2 * sizeAfterCompaction;
        boolean large = size > limits.maxBytes() / 4 && size - sizeAfterCompaction > limits.maxBytes() / 8;
        return quiet || large;
    }

    /** Compacts H2 or rewrites the redo log when either is due. */
    private void housekeeping() throws SQLException, IOException {
        if (compactDue()) {
            compact();
        }
        long live = Math.max(backlog, 0) * REDO_BYTES_PER_EVENT;
        if (redo.bytes() > storage.redoRewriteBytes() && redo.bytes() > 2 * live) {
            long before = redo.bytes();
            long start = System.nanoTime();
            OutboxRedo.rewrite(connection, redo);
            Logger.debug("outbox redo log rewritten from {} KB to {} KB in {} ms ({} events waiting)", before / 1024,
                    redo.bytes() / 1024, (System.nanoTime() - start) / 1_000_000, backlog);
        }
    }

    /**
     * {@code SHUTDOWN COMPACT}: a clean close that rewrites only the live rows; then reopen and replay
     * the redo log, since H2 may come back older than it closed (docs/durability.md).
     */
    private void compact() throws SQLException, IOException {
        long size = sizeOfFile();
        long start = System.nanoTime();
        misc.execute("SHUTDOWN COMPACT");
        closeQuietly();
        connect(true);
        reconcile();
        sizeAfterCompaction = sizeOfFile();
        compactions.incrementAndGet();
        Logger.info("outbox compacted from {} KB to {} KB in {} ms ({} events waiting)", size / 1024,
                sizeAfterCompaction / 1024, (System.nanoTime() - start) / 1_000_000, backlog);
    }

    /** Housekeeping: its failure must not fail the operation that triggered it. */
    private void housekeepingQuietly() {
        try {
            housekeeping();
        } catch (SQLException | IOException | RuntimeException e) {
            Logger.warn("outbox housekeeping failed: {}; the next operation reopens the store and replays the redo log",
                    firstLine(e.getMessage()));
            closeQuietly();
        }
    }

    /** What the last replay of the redo log did (at open, or at a reopen after a write error), if any. */
    Optional<OutboxRedo.Replayed> lastReplay() {
        return Optional.ofNullable(lastReplay);
    }

    /** The salvage at start, if the file was unreadable; empty normally. */
    public Optional<SalvageReport> salvageReport() {
        return Optional.ofNullable(salvage);
    }

    /**
     * Gives the draft the next sequence number and stores it. Completes only when the row's redo record
     * is synced to the storage medium; fails with {@link OutboxFullException} when a limit is reached,
     * or with the I/O error when the redo log cannot be written (nothing stored then).
     */
    public CompletableFuture<StoredEvent> append(StampDraft draft) {
        Objects.requireNonNull(draft, "draft");
        return submit(0, () -> {
            long start = System.nanoTime();
            ensureOpen();
            refreshState();
            checkRoom();
            try {
                long seq;
                try (ResultSet rs = nextSeq.executeQuery()) {
                    rs.next();
                    seq = rs.getLong(1);
                }
                bumpSeq.setLong(1, seq + 1);
                bumpSeq.executeUpdate();
                StampEvent event = draft.withSeq(seq);
                byte[] payload = codec.encode(event);
                Instant createdAt = clock.instant();
                insert.setLong(1, seq);
                insert.setString(2, event.eventId());
                insert.setString(3, new String(payload, StandardCharsets.UTF_8));
                insert.setObject(4, OffsetDateTime.ofInstant(createdAt, ZoneOffset.UTC));
                insert.setString(5, event.bootId());
                insert.setLong(6, event.monotonicNanos());
                insert.setBoolean(7, event.clockSynced());
                insert.executeUpdate();
                if (draft.kind() == EventKind.STAMP) {
                    remember(draft);
                }
                String text = new String(payload, StandardCharsets.UTF_8);
                // the durable record first; H2 commits after it (a failed write leaves nothing in either)
                redo.append(List.of(OutboxRedo.stored(new OutboxRedo.Stored(seq, event.eventId(), text, createdAt,
                        event.bootId(), event.monotonicNanos(), event.clockSynced()))), true);
                commitConfirmed(seq);
                backlog++;
                if (!event.clockSynced()) {
                    unsynced.incrementAndGet();
                }
                housekeepingQuietly(); // rarely, and after this stamp is durable
                long took = System.nanoTime() - start;
                appends.incrementAndGet();
                appendNanos.addAndGet(took);
                maxAppendNanos.accumulateAndGet(took, Math::max);
                Logger.debug("outbox append seq={} durable in {} us", seq, took / 1000);
                return new StoredEvent(seq, event.eventId(), payload, createdAt, event.bootId(), event.monotonicNanos());
            } catch (SQLException | IOException | RuntimeException e) {
                failed(e);
                throw e;
            } finally {
                refreshState();
            }
        });
    }

    /**
     * Commits an append whose redo record is already synced: the stamp is confirmed whatever H2 does
     * now. If H2 fails to commit, the store is closed; the next operation reopens it and replays the log.
     */
    private void commitConfirmed(long seq) {
        try {
            connection.commit();
        } catch (SQLException e) {
            Logger.warn("outbox: H2 failed to commit seq={} ({}); the stamp is durable in the redo log and is put back "
                    + "into H2 when the store reopens", seq, firstLine(e.getMessage()));
            closeQuietly();
        }
    }

    /**
     * The stamp's line in counter_history, in the append's transaction (no sync of its own); once a
     * minute the same transaction also drops the lines older than the retention.
     */
    private void remember(StampDraft draft) throws SQLException {
        insertHistory.setString(1, draft.programId());
        insertHistory.setString(2, draft.cardId());
        insertHistory.setObject(3, OffsetDateTime.ofInstant(draft.deviceTime(), ZoneOffset.UTC));
        insertHistory.executeUpdate();
        long now = System.nanoTime();
        if (lastHistoryPrune == 0 || now - lastHistoryPrune > TimeUnit.MINUTES.toNanos(1)) {
            lastHistoryPrune = now;
            pruneHistory.setObject(1, OffsetDateTime.ofInstant(clock.instant().minus(historyRetention), ZoneOffset.UTC));
            pruneHistory.executeUpdate();
        }
    }

    /** How long counter_history keeps a stamp (the counter rules' horizon); any thread. */
    public void historyRetention(Duration retention) {
        historyRetention = Objects.requireNonNull(retention, "retention");
    }

    /** A stamp this counter stored, as counter_history remembers it (also after the sink's ack). */
    public record CounterStamp(String programId, String cardId, Instant at) {
    }

    /** The stamps stored at or after {@code since}, oldest first: the counter rules' memory, read at start. */
    public CompletableFuture<List<CounterStamp>> counterHistory(Instant since) {
        Objects.requireNonNull(since, "since");
        return submit(1, () -> {
            ensureOpen();
            try (PreparedStatement st = connection.prepareStatement("SELECT program_id, card_id, stamped_at "
                    + "FROM counter_history WHERE stamped_at >= ? ORDER BY stamped_at")) {
                st.setObject(1, OffsetDateTime.ofInstant(since, ZoneOffset.UTC));
                List<CounterStamp> out = new ArrayList<>();
                try (ResultSet rs = st.executeQuery()) {
                    while (rs.next()) {
                        out.add(new CounterStamp(rs.getString(1), rs.getString(2),
                                rs.getObject(3, OffsetDateTime.class).toInstant()));
                    }
                }
                connection.commit();
                return out;
            } catch (SQLException e) {
                failed(e);
                throw e;
            }
        });
    }

    private void checkRoom() throws OutboxFullException {
        String full = null;
        if (backlog >= limits.maxEvents()) {
            full = "the outbox holds " + backlog + " unsent events, its limit (outbox.maxEvents=" + limits.maxEvents() + ")";
        } else if (fileBytes >= limits.maxBytes()) {
            full = "the outbox file is " + fileBytes + " bytes, its limit (outbox.maxBytes=" + limits.maxBytes() + ")";
        } else if (usableBytes < limits.minFreeBytes()) {
            full = "the disk of " + dir + " has " + usableBytes + " bytes free, less than outbox.minFreeBytes="
                    + limits.minFreeBytes();
        }
        if (full != null) {
            setHealth(OutboxHealth.FULL, full);
            throw new OutboxFullException(full + "; the scan was NOT stored. Bring the uplink back so the backlog "
                    + "drains, or free disk space");
        }
    }

    /** Up to {@code limit} events with a sequence number above {@code afterSeq}, in order. */
    public CompletableFuture<List<StoredEvent>> pending(long afterSeq, int limit) {
        return submit(1, () -> {
            ensureOpen();
            try {
                selectPending.setLong(1, afterSeq);
                selectPending.setInt(2, limit);
                List<StoredEvent> out = new ArrayList<>();
                try (ResultSet rs = selectPending.executeQuery()) {
                    while (rs.next()) {
                        out.add(new StoredEvent(rs.getLong(1), rs.getString(2),
                                rs.getString(3).getBytes(StandardCharsets.UTF_8),
                                rs.getObject(4, OffsetDateTime.class).toInstant(), rs.getString(5), rs.getLong(6)));
                    }
                }
                connection.commit();
                return out;
            } catch (SQLException e) {
                failed(e);
                throw e;
            }
        });
    }

    /**
     * Removes the event once the sink acknowledged it; true when there was such a row. Deletes are
     * gathered: all those waiting run in one transaction and one sync, after any waiting append.
     */
    public CompletableFuture<Boolean> delete(String eventId) {
        Objects.requireNonNull(eventId, "eventId");
        CompletableFuture<Boolean> done = new CompletableFuture<>();
        if (closed) {
            done.completeExceptionally(new RejectedExecutionException("the outbox is closed"));
            return done;
        }
        deletes.add(new PendingDelete(eventId, done));
        if (deleteScheduled.compareAndSet(false, true)) {
            submit(1, () -> {
                deleteScheduled.set(false);
                flushDeletes();
                return null;
            }).whenComplete((ignored, error) -> {
                if (error != null) {
                    // refused (a full task queue) or failed: the next delete must be able to schedule a flush
                    deleteScheduled.set(false);
                    failDeletes(error);
                }
            });
        }
        return done;
    }

    private void flushDeletes() throws SQLException {
        List<PendingDelete> batch = new ArrayList<>();
        PendingDelete d;
        while (batch.size() < DELETE_BATCH && (d = deletes.poll()) != null) {
            batch.add(d);
        }
        if (batch.isEmpty()) {
            return;
        }
        if (!deletes.isEmpty() && deleteScheduled.compareAndSet(false, true)) {
            submit(1, () -> {
                deleteScheduled.set(false);
                flushDeletes();
                return null;
            }).whenComplete((ignored, error) -> {
                if (error != null) {
                    deleteScheduled.set(false);
                    failDeletes(error);
                }
            });
        }
        try {
            ensureOpen();
            List<Boolean> found = new ArrayList<>(batch.size());
            for (PendingDelete p : batch) {
                deleteById.setString(1, p.eventId());
                found.add(deleteById.executeUpdate() > 0);
            }
            connection.commit();
            noteAcked(batch);
            long removed = found.stream().filter(Boolean::booleanValue).count();
            backlog = Math.max(0, backlog - removed);
            for (int i = 0; i < batch.size(); i++) {
                batch.get(i).done().complete(found.get(i));
            }
            housekeepingQuietly();
        } catch (SQLException | RuntimeException | OutboxException e) {
            failed(e);
            for (PendingDelete p : batch) {
                p.done().completeExceptionally(e);
            }
        } finally {
            refreshState();
        }
    }

    /**
     * Tells the redo log these were acknowledged, so that a replay does not queue them again. Not synced:
     * a lost line means one resend, which the sink answers DUPLICATE; a sync per ack batch would cost a
     * flash write for nothing.
     */
    private void noteAcked(List<PendingDelete> batch) {
        try {
            redo.append(List.of(OutboxRedo.acked(batch.stream().map(PendingDelete::eventId).toList())), false);
        } catch (IOException e) {
            Logger.warn("outbox redo log: acknowledgements not noted ({}); after a crash those events are sent once more",
                    e.toString());
        }
    }

    private void failDeletes(Throwable error) {
        PendingDelete d;
        while ((d = deletes.poll()) != null) {
            d.done().completeExceptionally(error);
        }
    }

    /**
     * Corrects the wall time of up to {@code max} events of boot {@code bootId} that were stored while
     * the clock was not synchronised: {@code wall = wallNow - (monoNow - monoThen)}, marked as corrected.
     * Returns how many it corrected; call again until 0. Small batches, so that appends interleave.
     */
    public CompletableFuture<Integer> correctClock(String bootId, Instant wallNow, long monoNow, int max) {
        Objects.requireNonNull(bootId, "bootId");
        Objects.requireNonNull(wallNow, "wallNow");
        return submit(1, () -> {
            ensureOpen();
            int n = 0;
            try (PreparedStatement select = connection.prepareStatement("SELECT seq, payload, mono_nanos FROM outbox "
                    + "WHERE boot_id = ? AND clock_synced = FALSE ORDER BY seq LIMIT ?");
                 PreparedStatement update = connection.prepareStatement(
                         "UPDATE outbox SET payload = ?, clock_synced = TRUE WHERE seq = ?")) {
                select.setString(1, bootId);
                select.setInt(2, max);
                List<Object[]> rows = new ArrayList<>();
                List<byte[]> redoLines = new ArrayList<>();
                try (ResultSet rs = select.executeQuery()) {
                    while (rs.next()) {
                        rows.add(new Object[] {rs.getLong(1), rs.getString(2), rs.getLong(3)});
                    }
                }
                for (Object[] row : rows) {
                    long seq = (Long) row[0];
                    StampEvent before;
                    try {
                        before = codec.decodeStampEvent(((String) row[1]).getBytes(StandardCharsets.UTF_8));
                    } catch (MalformedMessageException e) {
                        // cannot happen for what this class wrote; leave the row as it is, flagged by the column
                        Logger.warn("outbox row seq={} cannot be decoded for clock correction: {}", seq, e.getMessage());
                        update.setString(1, (String) row[1]);
                        update.setLong(2, seq);
                        update.executeUpdate();
                        continue;
                    }
                    Instant corrected = wallNow.minusNanos(monoNow - (Long) row[2]);
                    StampEvent after = ClockCorrection.corrected(before, corrected);
                    String text = new String(codec.encode(after), StandardCharsets.UTF_8);
                    update.setString(1, text);
                    update.setLong(2, seq);
                    update.executeUpdate();
                    redoLines.add(OutboxRedo.corrected(before.eventId(), text));
                    n++;
                }
                // synced: after a restart the old boot's monotonic clock is gone, a lost correction could not be redone
                redo.append(redoLines, true);
                connection.commit();
                return n;
            } catch (SQLException | IOException e) {
                failed(e);
                throw e;
            }
        });
    }

    /** Events stored and not yet acknowledged: the backlog. */
    public CompletableFuture<Long> count() {
        return submit(1, () -> {
            ensureOpen();
            try (ResultSet rs = misc.executeQuery("SELECT COUNT(*) FROM outbox")) {
                rs.next();
                long n = rs.getLong(1);
                connection.commit();
                return n;
            }
        });
    }

    /** When the oldest unacknowledged event was stored, if any. */
    public CompletableFuture<Optional<Instant>> oldestCreatedAt() {
        return submit(1, () -> {
            ensureOpen();
            // the oldest by sequence number, read through the primary key: MIN(created_at) scanned the whole
            // backlog on this thread (1.0-1.4 s with 400,000 rows, appends waiting behind it)
            try (ResultSet rs = misc.executeQuery("SELECT created_at FROM outbox ORDER BY seq LIMIT 1")) {
                OffsetDateTime t = rs.next() ? rs.getObject(1, OffsetDateTime.class) : null;
                connection.commit();
                return Optional.ofNullable(t).map(OffsetDateTime::toInstant);
            }
        });
    }

    /** Backlog, file size, free disk and alarm state as of the last operation; never blocks. */
    public OutboxStatus status() {
        return new OutboxStatus(backlog, fileBytes, usableBytes, health);
    }

    /** The alarm state as of the last operation. */
    public OutboxHealth health() {
        return health;
    }

    /** The file, for log lines. */
    public Path file() {
        return dbFile;
    }

    /** Compactions since open (each a clean close and reopen of H2). */
    long compactions() {
        return compactions.get();
    }

    /** Operations refused because the task queue was full. */
    public long refused() {
        return refused.get();
    }

    private void refreshState() {
        fileBytes = sizeOfFile();
        try {
            usableBytes = Files.getFileStore(dir).getUsableSpace();
        } catch (IOException e) {
            usableBytes = Long.MAX_VALUE; // unknown: the write itself will tell
        }
        OutboxHealth now;
        String why;
        if (backlog >= limits.maxEvents() || fileBytes >= limits.maxBytes() || usableBytes < limits.minFreeBytes()) {
            now = OutboxHealth.FULL;
            why = "backlog " + backlog + "/" + limits.maxEvents() + " events, file " + fileBytes / 1024 + "/"
                    + limits.maxBytes() / 1024 + " KB, disk free " + usableBytes / 1024 + " KB (minimum "
                    + limits.minFreeBytes() / 1024 + " KB)";
        } else if (backlog >= limits.nearFullEvents() || fileBytes >= limits.nearFullBytes()
                || usableBytes < 2 * limits.minFreeBytes()) {
            now = OutboxHealth.NEAR_FULL;
            why = "backlog " + backlog + "/" + limits.maxEvents() + " events, file " + fileBytes / 1024 + "/"
                    + limits.maxBytes() / 1024 + " KB, disk free " + usableBytes / 1024 + " KB; alarm at "
                    + limits.nearFullPercent() + "% or below " + 2 * limits.minFreeBytes() / 1024 + " KB free";
        } else {
            now = OutboxHealth.OK;
            why = "backlog " + backlog + " events, file " + fileBytes / 1024 + " KB";
        }
        setHealth(now, why);
    }

    private void setHealth(OutboxHealth now, String why) {
        OutboxHealth before = health;
        if (before == now) {
            return;
        }
        health = now;
        switch (now) {
            case FULL -> Logger.error("ALARM: outbox FULL ({}); new scans get STORAGE_FAULT until it drains", why);
            case NEAR_FULL -> Logger.warn("ALARM: outbox nearly full ({}); stamps are still stored", why);
            case OK -> Logger.info("outbox back to normal ({})", why);
        }
    }

    private long sizeOfFile() {
        try {
            return Files.size(dbFile);
        } catch (IOException e) {
            return 0;
        }
    }

    /** After a failure that closed H2's store (a write error, a full disk), reopen before the next operation. */
    private void ensureOpen() throws OutboxException {
        try {
            if (connection != null && !connection.isClosed()) {
                return;
            }
        } catch (SQLException e) {
            // treated as closed
        }
        long now = System.nanoTime();
        if (lastReopenAttempt != 0 && now - lastReopenAttempt < REOPEN_INTERVAL_NANOS) {
            throw new OutboxException("the outbox " + dbFile + " is closed after a write error; reopening is retried "
                    + "every second", null);
        }
        lastReopenAttempt = now;
        closeQuietly();
        try {
            if (!redo.isOpen()) {
                redo = RedoLog.open(redoFile, storage.fileOps());
            }
            connect(true);
            reconcile(); // what H2 did not commit before it failed, or lost, is in the redo log

            Logger.warn("outbox {} reopened after a write error; {} events waiting", dbFile, backlog);
        } catch (SQLException | IOException e) {
            closeQuietly();
            throw new OutboxException("the outbox " + dbFile + " cannot be reopened: " + firstLine(e.getMessage()), e);
        }
    }

    /** Rolls back what the failed operation left uncommitted; a store that cannot roll back is closed. */
    private void failed(Exception e) {
        try {
            if (connection != null && !connection.isClosed()) {
                connection.rollback();
            }
        } catch (SQLException ex) {
            Logger.warn("outbox rollback after {} failed: {}", e.getClass().getSimpleName(), firstLine(ex.getMessage()));
            closeQuietly();
        }
    }

    private void closeQuietly() {
        if (connection != null) {
            try {
                connection.close();
            } catch (SQLException e) {
                Logger.debug("closing a failed outbox connection: {}", firstLine(e.getMessage()));
            }
        }
        connection = null;
    }

    /** Runs what is queued, then {@code SHUTDOWN}, waiting at most {@code wait}. */
    public void close(Duration wait) {
        CompletableFuture<Void> shutdown;
        try {
            shutdown = submit(2, () -> {
                try {
                    if (connection != null && !connection.isClosed()) {
                        misc.execute("SHUTDOWN");
                        connection.close();
                    }
                } finally {
                    if (redo != null) {
                        redo.close();
                    }
                }
                return null;
            });
        } catch (RuntimeException e) {
            Logger.warn("outbox shutdown could not be queued: {}", e.toString());
            shutdown = CompletableFuture.completedFuture(null);
        }
        closed = true;
        try {
            shutdown.get(wait.toMillis(), TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (ExecutionException e) {
            Logger.warn("outbox SHUTDOWN failed: {}; H2 recovers the file at the next start", e.getCause().toString());
        } catch (java.util.concurrent.TimeoutException e) {
            Logger.warn("outbox did not shut down within {} ms; H2 recovers the file at the next start", wait.toMillis());
        }
        stopOwner();
        long n = appends.get();
        if (n > 0) {
            Logger.info("outbox closed: {} appends this run, durable in {} us mean, {} us max", n,
                    appendNanos.get() / n / 1000, maxAppendNanos.get() / 1000);
        }
    }

    @Override
    public void close() {
        close(Duration.ofSeconds(2));
    }

    private void stopOwner() {
        closed = true;
        jobs.add(new Job(Integer.MAX_VALUE, Long.MAX_VALUE, null));
        try {
            owner.join(1000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        if (owner.isAlive()) {
            owner.interrupt();
        }
    }

    private void runJobs() {
        while (true) {
            Job job;
            try {
                job = jobs.take();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
            if (job.run() == null) {
                RejectedExecutionException gone = new RejectedExecutionException("the outbox is closed");
                failDeletes(gone);
                return;
            }
            queued.decrementAndGet();
            job.run().run();
        }
    }

    @FunctionalInterface
    private interface Task<T> {
        T run() throws Exception;
    }

    /**
     * @param priority 0 for appends (a customer waits), 1 for the drain and reads, 2 for the shutdown
     * @return cancelling it withdraws the job if it has not started yet, else returns false ({@link JobFuture})
     */
    private <T> CompletableFuture<T> submit(int priority, Task<T> task) {
        JobFuture<T> future = new JobFuture<>();
        if (closed) {
            future.completeExceptionally(new RejectedExecutionException("the outbox is closed"));
            return future;
        }
        if (queued.incrementAndGet() > MAX_QUEUED_TASKS) {
            queued.decrementAndGet();
            long n = refused.incrementAndGet();
            future.completeExceptionally(new RejectedExecutionException(
                    "the outbox queue is full (" + MAX_QUEUED_TASKS + " tasks; refused " + n + " so far)"));
            return future;
        }
        jobs.add(new Job(priority, order.incrementAndGet(), () -> {
            if (!future.start()) {
                return; // withdrawn by its caller before it started
            }
            try {
                future.complete(task.run());
            } catch (Throwable e) {
                future.completeExceptionally(e);
            }
        }));
        return future;
    }

    static String firstLine(String message) {
        String m = String.valueOf(message);
        int nl = m.indexOf('\n');
        return nl < 0 ? m : m.substring(0, nl);
    }
}
