package app.sevenstamp.autopilot.gateway.outbox;

import app.sevenstamp.autopilot.gateway.support.Ticker;
import app.sevenstamp.autopilot.protocol.EventKind;
import app.sevenstamp.autopilot.protocol.StampEvent;
import app.sevenstamp.autopilot.protocol.WireCodec;
import app.sevenstamp.autopilot.protocol.support.NamedThreads;
import app.sevenstamp.autopilot.protocol.support.RedoLog;
import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import org.tinylog.Logger;

/**
 * The durable outbox: every stamp the gateway confirmed, until the sink acknowledges it. The single
 * source of truth for what still has to be sent (Paho keeps nothing). This class is the façade; its
 * parts are package-private: the thread and queue ({@link OutboxExecutor}), the tables
 * ({@link OutboxSchema}), the redo log ({@link OutboxRedo}), salvage of an unreadable file
 * ({@link OutboxSalvage}), when to compact ({@link OutboxCompaction}), the limits and alarm
 * ({@link OutboxCapacity}), the counter rules' memory ({@link CounterHistory}) and the clock rewrite
 * ({@link ClockRewrite}).
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
 * as the medium honours a flush. Appends queued together share that write, sync and commit (group
 * commit, {@code appendGroup}); none completes before the sync that covers it. The log holds every
 * event not yet acknowledged; at every open of H2 (start, reopen after an error, after a compaction)
 * the log is replayed into it. H2 itself writes lazily ({@code WRITE_DELAY}, {@link OutboxSchema#url}). When
 * the log has grown well past the backlog it is rewritten from H2 (new file, fsync, H2 synced, atomic
 * rename). The directory is fsynced after the files are created, so their
 * names survive a power cut too.
 *
 * <p>File size: see {@link OutboxCompaction}. Capacity ({@link OutboxLimits}): an append beyond a limit
 * is refused with {@link OutboxFullException}; past {@code nearFullPercent} the health turns NEAR_FULL.
 * A write error (a disk that filled up behind our back) closes H2's store; the next operation reopens it
 * (at most once a second) and replays the redo log into it. Until it is back, appends are confirmed by the
 * redo log alone, as while a compaction has H2 away; reads and deletes fail and are retried by the uplink.
 */
public final class Outbox implements AutoCloseable {
    private static final long REOPEN_INTERVAL_NANOS = TimeUnit.SECONDS.toNanos(1);
    private static final int DELETE_BATCH = 1000;
    /** A redo log is rewritten (acknowledged rows dropped) past this size, twice the backlog's and twice its last rewrite's. */
    static final long REDO_REWRITE_BYTES = 1L << 20;

    private final Path dir;
    private final Path file;
    private final Path dbFile;
    private final Clock clock;
    private final Ticker ticker;
    private final Storage storage;
    private final Path redoFile;
    private final WireCodec codec = new WireCodec();
    private final OutboxExecutor executor;
    private final OutboxCapacity capacity;
    private final OutboxCompaction compaction;
    private final CounterHistory history;
    private final ConcurrentLinkedQueue<PendingDelete> deletes = new ConcurrentLinkedQueue<>();
    private final AtomicBoolean deleteScheduled = new AtomicBoolean();
    private final OutboxExecutor.Group<StampDraft, StoredEvent> appends = new OutboxExecutor.Group<>(this::appendGroup);
    private final AtomicLong appendCount = new AtomicLong();
    /** Groups of appends stored, each with one sync of the redo log. */
    private final AtomicLong appendGroups = new AtomicLong();
    /** Rows stored with an unsynchronised clock since open (plus those found at open): see {@link #unsyncedAppends}. */
    private final AtomicLong unsynced = new AtomicLong();
    private final AtomicLong appendNanos = new AtomicLong();
    private final AtomicLong maxAppendNanos = new AtomicLong();
    private volatile long backlog;
    private volatile SalvageReport salvage;
    private volatile OutboxRedo.Replayed lastReplay;
    // touched only on the owner thread
    private OutboxSchema db;
    private long lastReopenAttempt;
    private RedoLog redo;
    /** The compaction or log rewrite under way (H2 away, appends confirmed by the redo log alone), or null. */
    private Away away;
    /**
     * The number the next append gets, as of the last open, append or end of a compaction: what numbering goes
     * on from, also while H2 is closed after a write error and cannot be read. H2's {@code outbox_seq} holds the
     * same once an append or a reopen commits.
     */
    private long nextSeq;
    /** H2 is closed after a write error and appends go to the redo log alone (logged once per episode). */
    private boolean redoOnly;

    /**
     * Where the files live: H2's file-system prefix and extra URL settings, and how the redo log is
     * opened. Production uses the real file system; a test plugs in one that records writes and syncs
     * and throws away what was not synced (a power cut).
     */
    record Storage(String h2Prefix, String h2Settings, RedoLog.FileOps fileOps, long redoRewriteBytes) {
        static final Storage FILES = new Storage("file:", "", RedoLog.FILES, REDO_REWRITE_BYTES);
    }

    private record PendingDelete(long seq, String eventId, CompletableFuture<Boolean> done) {
    }

    private Outbox(Path dir, Clock clock, Ticker ticker, OutboxLimits limits, Storage storage) {
        this.dir = dir;
        this.file = dir.resolve("outbox");
        this.dbFile = dir.resolve("outbox.mv.db");
        this.redoFile = dir.resolve("outbox.redo");
        this.clock = clock;
        this.ticker = ticker;
        this.storage = storage;
        this.capacity = new OutboxCapacity(dir, dbFile, limits);
        this.compaction = new OutboxCompaction(limits.maxBytes(), storage.redoRewriteBytes());
        this.history = new CounterHistory(clock, ticker);
        this.executor = new OutboxExecutor("outbox", this::failDeletes);
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
        return open(dir, clock, Ticker.SYSTEM, limits);
    }

    /** As {@link #open(Path, Clock, OutboxLimits)}, on the daemon's monotonic clock (the reopen and prune throttles). */
    public static Outbox open(Path dir, Clock clock, Ticker ticker, OutboxLimits limits) throws OutboxException {
        return open(dir, clock, ticker, limits, Storage.FILES);
    }

    static Outbox open(Path dir, Clock clock, Ticker ticker, OutboxLimits limits, Storage storage) throws OutboxException {
        Objects.requireNonNull(dir, "dir");
        Objects.requireNonNull(clock, "clock");
        Objects.requireNonNull(ticker, "ticker");
        Objects.requireNonNull(limits, "limits");
        try {
            Files.createDirectories(dir);
        } catch (IOException e) {
            throw new OutboxException("outbox.dir " + dir + " cannot be created: " + e, e);
        }
        Outbox outbox = new Outbox(dir.toAbsolutePath(), clock, ticker, limits, storage);
        outbox.executor.start();
        try {
            outbox.executor.submit(0, () -> {
                outbox.openOrSalvage();
                return null;
            }).get();
        } catch (ExecutionException e) {
            outbox.executor.stop();
            Throwable cause = e.getCause();
            throw new OutboxException(describeOpenFailure(outbox.dbFile, cause), cause);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            outbox.executor.stop();
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

    static boolean inUse(Throwable cause) {
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
        OutboxSalvage.Probe probe = existed ? OutboxSalvage.probe(storage, file) : OutboxSalvage.Probe.NEW_FILE;
        SQLException damaged = probe.damage();
        if (damaged != null) {
            salvage = OutboxSalvage.salvage(dir, dbFile, clock, damaged, () -> {
                connect(false);
                return db;
            });
            backlog = salvage.salvaged();
        } else {
            connect(existed);
            // the rows found in the file (a reopen finds the rows already counted at their append or here)
            unsynced.addAndGet(probe.unsyncedRows());
        }
        if (!existed || !redoExisted) {
            syncDirectory(dir);
        }
        // the probe's rows spare the replay a second read of H2's (a salvaged file's are not the probe's)
        reconcile(damaged == null, damaged == null ? probe.rows() : null);
        if (damaged != null || (existed && !redoExisted)) {
            // rows the log does not hold (salvaged, or stored by a release without the log): log them now
            OutboxRedo.rewrite(db.connection, redo);
            compaction.redoRewritten(redo.bytes());
        }
        nextSeq = readNextSeq();
        db.connection.commit();
        housekeeping();
        capacity.refresh(backlog);
    }

    /**
     * Puts back into a freshly opened H2 what the redo log says is waiting, and the log's counter_history
     * lines; see {@link OutboxRedo}. (After a compaction, {@link #compactAndReopen} skips the lines.)
     *
     * @param linesWithRows false after a salvage, which stores rows without their counter_history lines
     * @param probed        the rows the damage probe read from the file; null: the replay looks them up in H2
     */
    private void reconcile(boolean linesWithRows, ProbedRows probed) throws SQLException, IOException {
        if (redo.bytes() == 0) {
            return;
        }
        long start = System.nanoTime();
        OutboxRedo.Replayed r = OutboxRedo.reconcile(db.connection, redo.prefix(), codec, true, linesWithRows, probed);
        lastReplay = r;
        backlog = OutboxSchema.countRows(db.misc);
        db.connection.commit();
        if (r.restored() > 0 || r.corrected() > 0) {
            Logger.warn("outbox redo log: {} record(s) read in {} ms; {} confirmed event(s) that H2 had lost put "
                    + "back, {} clock correction(s) applied; numbering continues at seq {}", r.records(),
                    (System.nanoTime() - start) / 1_000_000, r.restored(), r.corrected(), r.nextSeq());
        } else {
            Logger.debug("outbox redo log: {} record(s) read in {} ms; H2 had them all", r.records(),
                    (System.nanoTime() - start) / 1_000_000);
        }
    }

    /** @param mustExist the file existed before: refuse it when it has no outbox table */
    private void connect(boolean mustExist) throws SQLException {
        db = OutboxSchema.connect(OutboxSchema.url(storage, file), mustExist);
        history.attach(db.connection);
        backlog = db.rows;
    }

    /**
     * How many events were stored with an unsynchronised clock, counted after each commit. A caller that
     * read N here and then ran {@link #correctClock} until it returned 0 has corrected all of those N.
     */
    public long unsyncedAppends() {
        return unsynced.get();
    }

    /** Makes a new file's directory entry durable: fsync of the file alone does not cover its name. */
    static void syncDirectory(Path dir) {
        try (FileChannel d = FileChannel.open(dir, StandardOpenOption.READ)) {
            d.force(true);
        } catch (IOException e) {
            // some file systems refuse to open a directory; the file's own fsync still ran
            Logger.debug("cannot fsync the directory {}: {}", dir, e.toString());
        }
    }

    /**
     * Starts a compaction of H2 or a rewrite of the redo log when either is due; nothing while one is
     * under way. Both run away from this thread: see {@link #startAway}.
     */
    private void housekeeping() throws SQLException, IOException {
        if (away != null || redoOnly) {
            return;
        }
        if (compaction.h2Due(capacity.sizeOfFile(), backlog, db != null && db.binaryPayload)) {
            RedoLog.Prefix logged = redo.prefix(); // the appends confirmed meanwhile go to H2 directly, not replayed
            startAway("compact", null, h2 -> compactAndReopen(h2, logged));
            return;
        }
        if (compaction.redoDue(redo.bytes(), backlog)) {
            RedoLog.Rewrite rewrite = redo.rewrite();
            long rows = backlog; // no acknowledgement is deleted while H2 is away
            try {
                startAway("redo-rewrite", rewrite, h2 -> {
                    OutboxRedo.rewriteInto(h2.connection, rewrite);
                    return new Reopened(h2, null, rows);
                });
            } catch (SQLException | RuntimeException e) {
                rewrite.close();
                throw e;
            }
        }
    }

    /**
     * Why H2 is away from the outbox thread, where numbering goes on, and the appends the redo log alone
     * confirmed meanwhile, which H2 (and a rewritten log) take when it is back. Outbox thread only.
     */
    private static final class Away {
        final String what;
        /** The new redo log being written, for a rewrite; null for a compaction. */
        final RedoLog.Rewrite rewrite;
        /** H2's file size when it went away. */
        final long sizeBefore;
        final long startNanos;
        final List<Parked> parked = new ArrayList<>();
        long nextSeq;

        Away(String what, RedoLog.Rewrite rewrite, long nextSeq, long sizeBefore, long startNanos) {
            this.what = what;
            this.rewrite = rewrite;
            this.nextSeq = nextSeq;
            this.sizeBefore = sizeBefore;
            this.startNanos = startNanos;
        }
    }

    /** An append confirmed while H2 was away: its row and, for a stamp, the counter rules' line. */
    private record Parked(OutboxRedo.Stored row, StampDraft draft, byte[] record) {
    }

    /** H2 as the work away left it: the same connection, or reopened and reconciled after a compaction. */
    private record Reopened(OutboxSchema db, OutboxRedo.Replayed replayed, long rows) {
    }

    /** What runs away from the outbox thread, with H2 to itself. */
    @FunctionalInterface
    private interface AwayWork {
        Reopened run(OutboxSchema h2) throws SQLException, IOException;
    }

    /**
     * Hands H2 to a thread of its own ({@code outbox-compact}, {@code outbox-redo-rewrite}) for work that
     * takes long with a long backlog: a compaction ({@code SHUTDOWN}, the file rewritten and the reopen, 0.9-1.8 s
     * with 50,000-100,000 waiting) or a rewrite of the redo log (0.2-0.5 s with a day's counter-history
     * lines). Scans must not wait for that: meanwhile this thread confirms appends from the redo log alone
     * (the old log, during a rewrite) and holds every other job back ({@link OutboxExecutor#hold});
     * {@link #endAway} gives H2, and a rewritten log, those appends.
     */
    private void startAway(String what, RedoLog.Rewrite rewrite, AwayWork work) throws SQLException {
        long seq = readNextSeq();
        db.connection.commit();
        OutboxSchema handed = db;
        db = null; // nothing on this thread touches H2 until endAway
        away = new Away(what, rewrite, seq, capacity.sizeOfFile(), System.nanoTime());
        executor.hold();
        Thread thread = NamedThreads.daemon("outbox-" + what).newThread(() -> {
            Reopened done = null;
            Exception error = null;
            try {
                done = work.run(handed);
            } catch (SQLException | IOException | RuntimeException e) {
                error = e;
            }
            Reopened r = done;
            Exception e = error;
            executor.submitUrgent(() -> {
                endAway(handed, r, e);
                return null;
            });
        });
        try {
            thread.start();
        } catch (RuntimeException | OutOfMemoryError e) { // no thread to be had: H2 never left
            db = handed;
            away = null;
            executor.resume();
            throw e;
        }
    }

    /**
     * On the compaction's thread: {@code SHUTDOWN}, a clean close, then the file rewritten with only the live
     * rows ({@link H2FileRewrite}), then a reopen and a reconcile from the redo log as it was when the
     * compaction began, since H2 may come back older than it closed (docs/durability.md).
     */
    private Reopened compactAndReopen(OutboxSchema old, RedoLog.Prefix logged) throws SQLException, IOException {
        try {
            old.misc.execute("SHUTDOWN");
        } finally {
            old.connection.close();
        }
        try {
            H2FileRewrite.rewrite(storage.h2Prefix(), file);
        } catch (RuntimeException e) { // H2's MVStoreException: the file is as SHUTDOWN left it, and H2 opens it
            throw new SQLException("outbox compaction: " + e.getMessage(), e);
        }
        OutboxSchema fresh = OutboxSchema.connect(OutboxSchema.url(storage, file), true);
        try {
            // not the HISTORY lines: SHUTDOWN wrote every line H2 held
            OutboxRedo.Replayed r = OutboxRedo.reconcile(fresh.connection, logged, new WireCodec(), false, true);
            long rows = OutboxSchema.countRows(fresh.misc);
            fresh.connection.commit();
            return new Reopened(fresh, r, rows);
        } catch (SQLException | IOException | RuntimeException e) {
            fresh.connection.close();
            throw e;
        }
    }

    /**
     * Back on the outbox thread: a rewritten log takes the records of the appends confirmed meanwhile and
     * replaces the old one; H2 takes their rows and counter-history lines; the jobs held back run. If the
     * work or this fails, the old log stays (it holds those appends) and H2 is closed: the next operation
     * reopens it and replays the log.
     */
    private void endAway(OutboxSchema handed, Reopened done, Exception error) {
        Away a = away;
        away = null;
        nextSeq = a.nextSeq; // the appends confirmed meanwhile are in the redo log, whatever happens to H2 now
        try {
            if (error != null) {
                throw error;
            }
            db = done.db();
            long before = a.rewrite != null ? redo.bytes() : a.sizeBefore; // the old log, with what came meanwhile
            if (a.rewrite != null) {
                a.rewrite.add(a.parked.stream().map(Parked::record).toList()); // as the old log got them
                a.rewrite.commit();
                compaction.redoRewritten(redo.bytes());
            }
            if (db != handed) {
                history.attach(db.connection);
                lastReplay = done.replayed();
            }
            for (Parked p : a.parked) {
                store(p.row(), p.draft());
            }
            db.bumpSeq.setLong(1, a.nextSeq);
            db.bumpSeq.executeUpdate();
            db.connection.commit();
            backlog = done.rows() + a.parked.size();
            long size = a.rewrite != null ? redo.bytes() : capacity.sizeOfFile();
            if (a.rewrite == null) {
                compaction.compacted(size);
            }
            Logger.info("outbox {}: {} KB to {} KB in {} ms ({} events waiting, {} confirmed meanwhile by the redo log "
                    + "alone)", a.rewrite != null ? "redo log rewritten" : "compacted", before / 1024,
                    size / 1024, (System.nanoTime() - a.startNanos) / 1_000_000, backlog, a.parked.size());
        } catch (Exception e) {
            Logger.warn("outbox {} failed: {}; the next operation reopens H2 and replays the redo log ({} events "
                    + "confirmed meanwhile are in it)", a.what, firstLine(e.getMessage()), a.parked.size());
            // not again at the next operation: a full disk would fail it again, each time after a SHUTDOWN, a copy
            // up to the full disk and a reopen with a replay; it is due again once the file has grown as much
            if (a.rewrite != null) {
                compaction.redoRewriteFailed(redo.bytes());
                closeRewriteQuietly(a.rewrite);
                db = handed;
            } else {
                compaction.failed(a.sizeBefore);
            }
            if (db != null) {
                failed(e);
                closeQuietly();
            }
        } finally {
            executor.resume();
            capacity.refresh(backlog);
        }
    }

    private static void closeRewriteQuietly(RedoLog.Rewrite rewrite) {
        try {
            rewrite.close();
        } catch (IOException e) {
            Logger.debug("dropping an unfinished redo log rewrite: {}", e.toString());
        }
    }

    private long readNextSeq() throws SQLException {
        try (ResultSet rs = db.nextSeq.executeQuery()) {
            rs.next();
            return rs.getLong(1);
        }
    }

    /** Inserts the row and, for a stamp, the counter rules' line (uncommitted). */
    private void store(OutboxRedo.Stored row, StampDraft draft) throws SQLException {
        insert(row);
        if (draft.kind() == EventKind.STAMP) {
            history.remember(draft);
        }
    }

    private void insert(OutboxRedo.Stored row) throws SQLException {
        OutboxSchema.bindRow(db.insert, row);
        db.insert.executeUpdate();
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
     * or with the I/O error when the redo log cannot be written (nothing stored then). Appends queued
     * together are stored together ({@code appendGroup}): one sync of the redo log, one H2 commit.
     */
    public CompletableFuture<StoredEvent> append(StampDraft draft) {
        Objects.requireNonNull(draft, "draft");
        return executor.submit(0, appends, draft);
    }

    /** One stamp of a group: its number, event, row time and redo record. */
    private record Accepted(OutboxExecutor.Member<StampDraft, StoredEvent> member, StoredEvent stored,
            boolean clockSynced) {
    }

    /**
     * Group commit: the appends queued together (a burst; one alone at one scan per 100 ms) are inserted
     * in one transaction, their redo records written in one write and made durable by one
     * {@code fdatasync}, then H2 commits and each append completes. No append completes before the sync
     * that covers its record has returned. Each one is checked against the limits as if it came alone
     * (the backlog counts those accepted before it) and a draft that cannot be encoded fails alone; an
     * error of H2 or of the redo log fails every append of the group (none of them is stored then).
     * During a compaction the redo log alone confirms them, and H2 takes them when it is back; so it does
     * while H2 is closed after a write error, and the replay at its reopen puts them into H2.
     */
    private void appendGroup(List<OutboxExecutor.Member<StampDraft, StoredEvent>> members)
            throws OutboxException, SQLException, IOException {
        long start = System.nanoTime();
        Away parking = away;
        boolean h2 = parking == null && h2ForAppends(); // false: the redo log alone confirms this group
        capacity.refresh(backlog);
        List<Accepted> accepted = new ArrayList<>(members.size());
        List<Parked> rows = new ArrayList<>(members.size());
        List<byte[]> records = new ArrayList<>(members.size());
        long seq;
        try {
            // the field, not H2's outbox_seq: whatever moves one moves the other (the open, a reopen, the end of a
            // compaction, an append), and a SELECT an append was an eighth of its time on this thread at one scan per
            // 100 ms (OutboxWriteBench: 0.18 of 1.5 ms at the median, 1 ms at the 99th percentile)
            seq = parking != null ? parking.nextSeq : nextSeq;
            for (OutboxExecutor.Member<StampDraft, StoredEvent> m : members) {
                StampDraft draft = m.input();
                StampEvent event;
                byte[] payload;
                try {
                    capacity.checkRoom(backlog + accepted.size());
                    event = draft.withSeq(seq);
                    payload = codec.encode(event);
                } catch (OutboxFullException | RuntimeException e) {
                    m.future().completeExceptionally(e); // nothing of it written: the others go on
                    continue;
                }
                Instant createdAt = clock.instant();
                OutboxRedo.Stored row = new OutboxRedo.Stored(seq, event.eventId(), payload, createdAt, event.bootId(),
                        event.monotonicNanos(), event.clockSynced());
                byte[] record = OutboxRedo.stored(row);
                if (h2) {
                    store(row, draft);
                }
                rows.add(new Parked(row, draft, record));
                records.add(record);
                accepted.add(new Accepted(m, new StoredEvent(seq, event.eventId(), payload, createdAt, event.bootId(),
                        event.monotonicNanos()), event.clockSynced()));
                seq++;
            }
            if (accepted.isEmpty()) {
                if (h2) {
                    db.connection.rollback();
                }
                capacity.refresh(backlog);
                return;
            }
            if (h2) {
                db.bumpSeq.setLong(1, seq);
                db.bumpSeq.executeUpdate();
            }
            // the durable record first, one write and one fdatasync for the group; H2 commits after it (a
            // failed write leaves nothing in either)
            redo.append(records, true);
        } catch (SQLException | IOException | RuntimeException e) {
            if (h2) {
                failed(e);
            }
            capacity.refresh(backlog);
            throw e; // fails every append of the group still waiting (OutboxExecutor.runGroup)
        }
        long first = accepted.get(0).stored().seq();
        if (h2) {
            commitConfirmed(first, accepted.get(accepted.size() - 1).stored().seq());
        } else if (parking != null) {
            parking.parked.addAll(rows);
            parking.nextSeq = seq;
        }
        nextSeq = seq;
        backlog += accepted.size();
        unsynced.addAndGet(accepted.stream().filter(a -> !a.clockSynced()).count());
        long took = System.nanoTime() - start;
        appendCount.addAndGet(accepted.size());
        appendGroups.incrementAndGet();
        appendNanos.addAndGet(took * accepted.size());
        maxAppendNanos.accumulateAndGet(took, Math::max);
        Logger.debug("outbox append seq={}..{} ({} in one sync) durable in {} us", first, first + accepted.size() - 1,
                accepted.size(), took / 1000);
        capacity.refresh(backlog);
        for (Accepted a : accepted) {
            a.member().future().complete(a.stored());
        }
        housekeepingQuietly(); // after the scans got their answer: a compaction starts here, it does not run here
    }

    /**
     * Commits an append whose redo record is already synced: the stamp is confirmed whatever H2 does
     * now. If H2 fails to commit, the store is closed; the next operation reopens it and replays the log.
     */
    private void commitConfirmed(long firstSeq, long lastSeq) {
        try {
            db.connection.commit();
        } catch (SQLException e) {
            Logger.warn("outbox: H2 failed to commit seq={}..{} ({}); the stamps are durable in the redo log and are put "
                    + "back into H2 when the store reopens", firstSeq, lastSeq, firstLine(e.getMessage()));
            closeQuietly();
        }
    }

    /** How long counter_history keeps a stamp (the counter rules' horizon); any thread. */
    public void historyRetention(Duration retention) {
        history.retention(retention);
    }

    /** A stamp this counter stored, as counter_history remembers it (also after the sink's ack). */
    public record CounterStamp(String programId, String cardId, Instant at) {
    }

    /** The stamps stored at or after {@code since}, oldest first: the counter rules' memory, read at start. */
    public CompletableFuture<List<CounterStamp>> counterHistory(Instant since) {
        Objects.requireNonNull(since, "since");
        return executor.submit(1, () -> {
            ensureOpen();
            try {
                return CounterHistory.since(db.connection, since);
            } catch (SQLException e) {
                failed(e);
                throw e;
            }
        });
    }

    /** Up to {@code limit} events with a sequence number above {@code afterSeq}, in order. */
    public CompletableFuture<List<StoredEvent>> pending(long afterSeq, int limit) {
        return executor.submit(1, () -> {
            ensureOpen();
            try {
                db.selectPending.setLong(1, afterSeq);
                db.selectPending.setInt(2, limit);
                List<StoredEvent> out = new ArrayList<>();
                try (ResultSet rs = db.selectPending.executeQuery()) {
                    while (rs.next()) {
                        out.add(new StoredEvent(rs.getLong(1), rs.getString(2),
                                rs.getBytes(3),
                                rs.getObject(4, OffsetDateTime.class).toInstant(), rs.getString(5), rs.getLong(6)));
                    }
                }
                db.connection.commit();
                return out;
            } catch (SQLException e) {
                failed(e);
                throw e;
            }
        });
    }

    /**
     * Removes the event once the sink acknowledged it; true when there was such a row (the event {@code eventId}
     * at {@code seq}). Deletes are gathered: all those waiting run in one transaction and one sync, after any
     * waiting append.
     */
    public CompletableFuture<Boolean> delete(long seq, String eventId) {
        Objects.requireNonNull(eventId, "eventId");
        CompletableFuture<Boolean> done = new CompletableFuture<>();
        if (executor.closed()) {
            done.completeExceptionally(new RejectedExecutionException("the outbox is closed"));
            return done;
        }
        deletes.add(new PendingDelete(seq, eventId, done));
        if (deleteScheduled.compareAndSet(false, true)) {
            scheduleDeletes();
        }
        return done;
    }

    private void scheduleDeletes() {
        executor.submit(1, () -> {
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
            scheduleDeletes();
        }
        try {
            ensureOpen();
            List<Boolean> found = new ArrayList<>(batch.size());
            for (PendingDelete p : batch) {
                db.deleteAcked.setLong(1, p.seq());
                db.deleteAcked.setString(2, p.eventId());
                found.add(db.deleteAcked.executeUpdate() > 0);
            }
            db.connection.commit();
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
            capacity.refresh(backlog);
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
        return executor.submit(1, () -> {
            ensureOpen();
            try {
                return ClockRewrite.correct(db.connection, redo, codec, bootId, wallNow, monoNow, max);
            } catch (SQLException | IOException e) {
                failed(e);
                throw e;
            }
        });
    }

    /**
     * The watchdog's probe: answered by the outbox thread as soon as no append is ahead of it, also while
     * H2 is away (a compaction, a log rewrite); with how long H2 has been away (zero when it is not).
     */
    public CompletableFuture<Duration> ping() {
        return executor.submit(0, () -> away == null ? Duration.ZERO
                : Duration.ofNanos(System.nanoTime() - away.startNanos));
    }

    /** Events stored and not yet acknowledged: the backlog. */
    public CompletableFuture<Long> count() {
        return executor.submit(1, () -> {
            ensureOpen();
            try {
                long n = OutboxSchema.countRows(db.misc);
                db.connection.commit();
                return n;
            } catch (SQLException e) {
                failed(e); // a status read may be the one that meets H2's failed write: it must close H2 too
                throw e;
            }
        });
    }

    /** When the oldest unacknowledged event was stored, if any. */
    public CompletableFuture<Optional<Instant>> oldestCreatedAt() {
        return executor.submit(1, () -> {
            ensureOpen();
            // the oldest by sequence number, read through the primary key: MIN(created_at) scanned the whole
            // backlog on this thread (1.0-1.4 s with 400,000 rows, appends waiting behind it)
            try (ResultSet rs = db.misc.executeQuery("SELECT created_at FROM outbox ORDER BY seq LIMIT 1")) {
                OffsetDateTime t = rs.next() ? rs.getObject(1, OffsetDateTime.class) : null;
                db.connection.commit();
                return Optional.ofNullable(t).map(OffsetDateTime::toInstant);
            } catch (SQLException e) {
                failed(e);
                throw e;
            }
        });
    }

    /** Backlog, file size, free disk and alarm state as of the last operation; never blocks. */
    public OutboxStatus status() {
        return capacity.status(backlog);
    }

    /** The alarm state as of the last operation. */
    public OutboxHealth health() {
        return capacity.health();
    }

    /** The file, for log lines. */
    public Path file() {
        return dbFile;
    }

    /** Compactions since open (each a clean close and reopen of H2). */
    long compactions() {
        return compaction.count();
    }

    /** Compactions of H2 that failed since open; any thread. */
    long compactionFailures() {
        return compaction.failures();
    }

    /**
     * Syncs of the redo log that stored appends, since open: one per group of appends queued together,
     * so at most one per stamp (the figure behind "syncs per stamp").
     */
    public long appendSyncs() {
        return appendGroups.get();
    }

    /** Operations refused because the task queue was full. */
    public long refused() {
        return executor.refused();
    }

    /**
     * Whether H2 takes this append: it is open, or reopens now. When it stays closed after a write error
     * (its reopen failed, or is not due yet: at most once a second) the redo log alone confirms appends, as
     * during a compaction: a scan must not be refused while the durable record can be written (a CI run
     * refused 20 in a row right after a full disk had room again). The reopen's replay puts them into H2.
     */
    private boolean h2ForAppends() throws OutboxException {
        try {
            ensureOpen();
            return true;
        } catch (OutboxException e) {
            if (!redo.isOpen()) {
                throw e; // nothing can confirm an append
            }
            if (!redoOnly) {
                Logger.warn("outbox: {}; appends are confirmed by the redo log alone until H2 is back (numbering goes on "
                        + "at seq {})", e.getMessage(), nextSeq);
                redoOnly = true;
            }
            return false;
        }
    }

    /** After a failure that closed H2's store (a write error, a full disk), reopen before the next operation. */
    private void ensureOpen() throws OutboxException {
        try {
            if (db != null && !db.connection.isClosed()) {
                return;
            }
        } catch (SQLException e) {
            // treated as closed
        }
        long now = ticker.nanoTime();
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
            reconcile(true, null); // what H2 did not commit before it failed, or lost, is in the redo log
            nextSeq = readNextSeq();
            db.connection.commit();
            Logger.warn("outbox {} reopened after a write error; {} events waiting{}", dbFile, backlog,
                    redoOnly ? " (those confirmed by the redo log alone meanwhile put into H2)" : "");
            redoOnly = false;
        } catch (SQLException | IOException e) {
            closeQuietly();
            throw new OutboxException("the outbox " + dbFile + " cannot be reopened: " + firstLine(e.getMessage()), e);
        }
    }

    /**
     * Rolls back what the failed operation left uncommitted; an error of H2 itself, or a failed rollback,
     * closes it, so that the next operation reopens it. After a failed write H2's store stops writing but
     * goes on answering from memory: its background writer's error surfaces once, at some later commit,
     * and the store then kept taking rows it never wrote (984 appends in OutboxWriteErrorTest, held in the
     * heap) until another commit happened to fail. Only a reopen, which replays the redo log, writes again.
     */
    private void failed(Exception e) {
        if (e instanceof SQLException sql && db != null) {
            // no rollback first: every statement of a failed H2 registers with its store's versions, where H2's
            // close once spun for good (closeAbruptly); the reopen drops what was not committed
            Logger.warn("outbox: H2 failed ({}); closed, the next operation reopens it and replays the redo log",
                    firstLine(sql.getMessage()));
            closeQuietly();
            return;
        }
        try {
            if (db != null && !db.connection.isClosed()) {
                db.connection.rollback();
            }
        } catch (SQLException ex) {
            Logger.warn("outbox rollback after {} failed: {}", e.getClass().getSimpleName(), firstLine(ex.getMessage()));
            closeQuietly();
        }
    }

    /** After a failure: H2 closed as by a power cut ({@link OutboxSchema#closeAbruptly}). */
    private void closeQuietly() {
        if (db != null) {
            try {
                db.closeAbruptly();
            } catch (SQLException | RuntimeException e) {
                Logger.debug("closing a failed outbox connection: {}", firstLine(e.getMessage()));
            }
        }
    }

    /** Runs what is queued, then {@code SHUTDOWN}, waiting at most {@code wait}. */
    public void close(Duration wait) {
        CompletableFuture<Void> shutdown;
        try {
            shutdown = executor.submit(2, () -> {
                try {
                    if (db != null && !db.connection.isClosed()) {
                        db.misc.execute("SHUTDOWN");
                        db.connection.close();
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
        executor.closeToNewWork();
        try {
            shutdown.get(wait.toMillis(), TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (ExecutionException e) {
            Logger.warn("outbox SHUTDOWN failed: {}; H2 recovers the file at the next start", e.getCause().toString());
        } catch (java.util.concurrent.TimeoutException e) {
            Logger.warn("outbox did not shut down within {} ms; H2 recovers the file at the next start", wait.toMillis());
        }
        executor.stop();
        long n = appendCount.get();
        if (n > 0) {
            Logger.info("outbox closed: {} appends this run in {} syncs of the redo log, durable in {} us mean, {} us max",
                    n, appendGroups.get(), appendNanos.get() / n / 1000, maxAppendNanos.get() / 1000);
        }
    }

    @Override
    public void close() {
        close(Duration.ofSeconds(2));
    }

    static String firstLine(String message) {
        String m = String.valueOf(message);
        int nl = m.indexOf('\n');
        return nl < 0 ? m : m.substring(0, nl);
    }
}
