package app.sevenstamp.autopilot.sink.store;

import app.sevenstamp.autopilot.protocol.support.RedoLog;
import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import org.tinylog.Logger;

/**
 * A snapshot of the single-box sink's H2 store that we write and sync ourselves ({@code SCRIPT TO},
 * compressed; {@code <store>.snapshot}), and its generation, kept in the store too
 * ({@code durability_marker}).
 *
 * <p>Why: after a crash H2 2.5 can come back older than states it had synced, even older than a clean
 * close before the crash ({@code IngestPowerCutTest} found a kill -9 that rolled back past a clean
 * restart; docs/durability.md). So the store's own file is not trusted across a crash. Each snapshot
 * gets the next generation, written into the store first; the ingest redo log starts afresh with that
 * generation. At start, a store whose generation is below the log's came back older than the last
 * snapshot: it is moved aside (never deleted) and rebuilt from the snapshot, and the log is replayed
 * over it. The same when H2 cannot open the file at all.
 */
public final class H2Snapshot {
    /** The least free space in which a start opens the store, and a rebuild moves it aside ({@link #requireRoom}). */
    static final long MIN_ROOM = 32L * 1024 * 1024;
    private static final long ROOM_POLL_MS = 1_000;
    private static final DateTimeFormatter STAMP = DateTimeFormatter.ofPattern("yyyyMMdd'T'HHmmss'Z'")
            .withZone(ZoneOffset.UTC);

    private H2Snapshot() {
    }

    /** The snapshot beside the store {@code <databaseFile>}. */
    public static Path fileOf(Path databaseFile) {
        return Path.of(databaseFile + ".snapshot");
    }

    /** The generation the store holds (0 before the first snapshot or the marker's migration). */
    public static long generation(Database db) {
        try (Connection c = db.connection(); Statement st = c.createStatement()) {
            // asked first, not learnt from the query's error: H2 writes each error into its trace file, where an
            // operator looks for real ones, and a new store has no marker yet
            try (ResultSet table = c.getMetaData().getTables(null, null, "DURABILITY_MARKER", null)) {
                if (!table.next()) {
                    return 0; // a new store, or one from before the marker
                }
            }
            try (ResultSet rs = st.executeQuery("SELECT generation FROM durability_marker WHERE id = 1")) {
                return rs.next() ? rs.getLong(1) : 0;
            }
        } catch (SQLException e) {
            return 0; // a store that cannot be read: rebuilt from the snapshot, if there is one
        }
    }

    /**
     * Marks the store with {@code generation}, then writes the snapshot beside it, syncs it and renames it
     * over the previous one (durably). Only after this returns may the log of what came before be dropped.
     *
     * @return the snapshot's size in bytes
     */
    public static long write(H2Database db, long generation, RedoLog.FileOps files) throws IOException {
        long t0 = System.nanoTime();
        Path target = fileOf(db.file());
        Path tmp = Path.of(target + ".new");
        try (Connection c = db.connection()) {
            c.setAutoCommit(false);
            try (PreparedStatement mark = c.prepareStatement("UPDATE durability_marker SET generation = ? WHERE id = 1")) {
                mark.setLong(1, generation);
                if (mark.executeUpdate() != 1) {
                    throw new SQLException("the store has no durability_marker row");
                }
            }
            c.commit();
            // The tables as of one moment, while the POS route, redemptions and the console go on writing. SERIALIZABLE,
            // not REPEATABLE READ: H2 takes a table's snapshot at the transaction's first read of that table, and only
            // SNAPSHOT and SERIALIZABLE take every table's at the first statement. With REPEATABLE READ a transaction
            // committed while SCRIPT ran came back with its ledger line but not its event (H2SnapshotTest).
            c.setTransactionIsolation(Connection.TRANSACTION_SERIALIZABLE);
            try (Statement st = c.createStatement()) {
                st.execute("SCRIPT TO '" + (db.fileSystem() + tmp).replace("'", "''") + "' COMPRESSION DEFLATE");
            }
            c.commit();
        } catch (SQLException e) {
            throw new IOException("snapshot of " + db.describe() + " failed: " + SinkStore.reason(e)
                    + dropPart(tmp), e);
        }
        long bytes;
        try (FileChannel written = files.open(tmp)) {
            written.force(true);
            bytes = written.size();
        } catch (IOException e) {
            throw new IOException("snapshot of " + db.describe() + " not synced: " + e.getMessage() + dropPart(tmp), e);
        }
        if (bytes == 0) {
            // a script holds the schema at least: an empty file is not this snapshot (another writer took it)
            throw new IOException("snapshot of " + db.describe() + " came out empty (" + tmp + "); the previous one is kept");
        }
        files.replace(tmp, target);
        Logger.info("{}: snapshot generation {} written in {} ms ({} KB)", db.describe(), generation,
                (System.nanoTime() - t0) / 1_000_000, bytes / 1024);
        return bytes;
    }

    /**
     * Deletes what a failed snapshot wrote: on a full disk it is what the store and the redo log need to go on, and
     * the next try writes it afresh. What the error message says of it.
     */
    private static String dropPart(Path tmp) {
        try {
            return Files.deleteIfExists(tmp) ? " (its part deleted)" : "";
        } catch (IOException e) {
            return " (its part " + tmp + " not deleted: " + e + ")";
        }
    }

    /**
     * Moves the store's file aside ({@code <store>.rolled-back-<UTC>.mv.db}, kept for a manual look) and
     * builds a new one from the snapshot. The caller then opens it and replays the log over it.
     */
    public static void restore(Path databaseFile, String why) throws IOException {
        requireRoom(databaseFile, why);
        Path snapshot = fileOf(databaseFile);
        Path current = Path.of(databaseFile + ".mv.db");
        Path aside = null;
        if (Files.exists(current)) {
            String stamp = STAMP.format(Instant.now());
            aside = Path.of(databaseFile + ".rolled-back-" + stamp + ".mv.db");
            for (int i = 1; Files.exists(aside); i++) {
                aside = Path.of(databaseFile + ".rolled-back-" + stamp + "-" + i + ".mv.db");
            }
            Files.move(current, aside);
        }
        long t0 = System.nanoTime();
        try (Connection c = DriverManager.getConnection("jdbc:h2:file:" + databaseFile + ";DB_CLOSE_ON_EXIT=FALSE",
                "sink", "");
             Statement st = c.createStatement()) {
            st.execute("RUNSCRIPT FROM '" + snapshot.toString().replace("'", "''") + "' COMPRESSION DEFLATE");
            st.execute("SHUTDOWN");
        } catch (SQLException e) {
            throw new IOException("the store cannot be rebuilt from " + snapshot + ": " + SinkStore.firstLine(e.getMessage()), e);
        }
        Logger.error("ALARM: {}: {}; rebuilt from the snapshot {} in {} ms{}; acknowledged stamps since then are "
                + "replayed from the ingest redo log, other changes since then (redemptions, corrections, fleet) are "
                + "not", current, why, snapshot, (System.nanoTime() - t0) / 1_000_000,
                aside == null ? "" : " (the old file is kept as " + aside + ")");
    }

    /**
     * Waits until the disk under the store has 32 MB free, saying so every minute, then makes the store's directory.
     * Exiting instead would have systemd start the sink again every 2 s and give up after ten tries, leaving it down
     * once there is room again; waiting counts as starting (systemd stops a start after 5 minutes and starts it
     * again), and the start goes on within seconds of space being freed. (A rebuild asks for more: {@link #requireRoom}.)
     */
    public static void awaitRoom(Path databaseFile) throws IOException, InterruptedException {
        Path dir = databaseFile.toAbsolutePath().getParent();
        long lastSaid = 0;
        for (long free = usableSpace(dir); free < MIN_ROOM; free = usableSpace(dir)) {
            if (lastSaid == 0 || System.nanoTime() - lastSaid > TimeUnit.MINUTES.toNanos(1)) {
                Logger.error("the disk under {} has {} KB free: the store is not opened before there are {} MB (on a full "
                        + "disk H2 fails on a good store); waiting", dir, free / 1024, MIN_ROOM / (1024 * 1024));
                lastSaid = System.nanoTime();
            }
            Thread.sleep(ROOM_POLL_MS);
        }
        Files.createDirectories(dir); // a first start's: the redo log is opened before the store, which made it
    }

    /**
     * Free bytes on the store's disk, for the metrics: below 32 MB a start waits and the store is not rebuilt, and a
     * drain at full speed grows H2's file by what it wrote in the last 45 s (docs/operations.md). -1 if unknown.
     */
    public static long diskFree(Path databaseFile) {
        try {
            return usableSpace(databaseFile.toAbsolutePath().getParent());
        } catch (IOException e) {
            return -1;
        }
    }

    /** Free space for this process on the disk of {@code dir}, or of its nearest existing parent (a first start). */
    private static long usableSpace(Path dir) throws IOException {
        Path existing = dir;
        while (!Files.exists(existing) && existing.getParent() != null) {
            existing = existing.getParent();
        }
        return Files.getFileStore(existing).getUsableSpace();
    }

    /**
     * Refuses to move the store aside and rebuild it while its disk is (nearly) full. H2 cannot open a good store on a
     * full disk, nor bring its schema up to date, and a rebuild there fails half-way: each start that systemd made
     * then moved the last file aside, until one with room rebuilt the store from the snapshot, losing the changes
     * since it that the ingest log does not hold (SinkFullDiskIT). A start waits for 32 MB first ({@link #awaitRoom});
     * a rebuild wants four times the snapshot if that is more, and the disk may have filled since.
     */
    private static void requireRoom(Path databaseFile, String why) throws IOException {
        Path dir = databaseFile.toAbsolutePath().getParent();
        long free = usableSpace(dir);
        // a floor, not the rebuild's size: the snapshot is a compressed script
        long wanted = Math.max(MIN_ROOM, 4 * size(databaseFile));
        if (free < wanted) {
            throw new StoreException(databaseFile + ".mv.db cannot be used (" + why + "), and the disk under " + dir
                    + " has " + free / 1024 + " KB free: on a full disk H2 fails on a good store. Nothing was moved or "
                    + "rebuilt; free at least " + wanted / (1024 * 1024) + " MB there and start the sink again", null);
        }
    }

    /**
     * Opens and migrates the store through {@code open}, unless it cannot be trusted: H2 cannot open it, it
     * holds a generation below {@code logGeneration} (it came back older than the last snapshot), or its
     * schema cannot be brought up to date. Then, if there is a snapshot, the file is rebuilt from it
     * ({@link #restore}); a store that never finished its first start holds nothing anyone was told about,
     * and is moved aside and started anew. Returns the open store and whether it was rebuilt.
     */
    public static Opened openTrusted(Path databaseFile, Supplier<H2Database> open, long logGeneration,
            boolean unfinishedFirstStart) throws IOException {
        H2Database db;
        try {
            db = open.get();
        } catch (StoreException e) {
            return reopen(databaseFile, open, unfinishedFirstStart, "H2 cannot open it (" + SinkStore.firstLine(e.getMessage())
                    + ")", e);
        }
        long held = generation(db);
        if (held < logGeneration) {
            if (!exists(databaseFile)) {
                Logger.error("ALARM: {} holds generation {}, below the ingest log's {}, and there is no snapshot to rebuild "
                        + "it from; going on with it", db.describe(), held, logGeneration);
            } else {
                db.close();
                restore(databaseFile, "it came back at generation " + held + ", older than the last snapshot ("
                        + logGeneration + ")");
                return opened(open.get(), true);
            }
        }
        try {
            return opened(db, false); // SinkStore.open closes db when the migration fails
        } catch (StoreException e) {
            return reopen(databaseFile, open, unfinishedFirstStart, "its schema cannot be brought up to date ("
                    + SinkStore.firstLine(e.getMessage()) + ")", e);
        }
    }

    private static Opened reopen(Path databaseFile, Supplier<H2Database> open, boolean unfinishedFirstStart, String why,
            StoreException failure) throws IOException {
        if (exists(databaseFile)) {
            restore(databaseFile, why);
            return opened(open.get(), true);
        }
        if (!unfinishedFirstStart) {
            throw failure;
        }
        Path aside = Path.of(databaseFile + ".unfinished-" + STAMP.format(Instant.now()) + ".mv.db");
        Files.move(Path.of(databaseFile + ".mv.db"), aside);
        Logger.error("ALARM: {}.mv.db: {}; it was created by a first start that never finished (no snapshot yet), so "
                + "nothing in it was acknowledged: moved to {}, starting with a new store", databaseFile, why, aside);
        return opened(open.get(), false);
    }

    private static Opened opened(H2Database db, boolean rebuilt) {
        return new Opened(db, SinkStore.open(db), rebuilt);
    }

    /** An open, migrated store, its database, and whether it was rebuilt from the snapshot to get there. */
    public record Opened(H2Database db, SinkStore store, boolean rebuilt) {
    }

    /** Whether a snapshot exists to restore from. */
    public static boolean exists(Path databaseFile) {
        return Files.isRegularFile(fileOf(databaseFile));
    }

    /** The size of the snapshot beside the store {@code databaseFile} in bytes, 0 if there is none. */
    public static long size(Path databaseFile) {
        try {
            return Files.size(fileOf(databaseFile));
        } catch (IOException e) {
            return 0;
        }
    }
}
