package app.sevenstamp.autopilot.sink.ingest;

import app.sevenstamp.autopilot.protocol.AckOutcome;
import app.sevenstamp.autopilot.protocol.support.RedoLog;
import java.io.ByteArrayInputStream;
import java.io.DataInputStream;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.tinylog.Logger;

/**
 * The single-box sink's durable record of the stamp events it acknowledged since its last snapshot
 * ({@code <store>.ingest.redo}), for the H2 store only: H2 2.5 can lose commits it wrote and synced,
 * and come back older after a crash (docs/durability.md), while the box deletes an event once the sink
 * acknowledged it. Each batch's messages are appended and fdatasynced after the batch's transaction
 * commits and before any answer goes out. At start, before the ingest subscribes, the log is replayed
 * through the same {@link EventProcessor}: events the store still has answer DUPLICATE, lost ones are
 * applied again, in their original order.
 *
 * <p>The log's first record is the generation of the snapshot it continues ({@code H2Snapshot}). A
 * checkpoint marks the log at the next generation ({@link #mark}), writes a new snapshot (the store marked
 * with that generation first), then replaces the log by one that holds that generation and what was logged
 * after the mark ({@link #finish}): what the old log held before the mark is in the snapshot. While the
 * ingest runs, the snapshot is written on another thread between the two. PostgreSQL needs none of this
 * (its commit is durable).
 *
 * <p>Owned by the ingest thread while it runs; the replay and the stop run before and after it. The
 * snapshot's writer never touches the log.
 */
public final class IngestRedo implements AutoCloseable {
    /** The log is checkpointed past this size (about 9,000 events), or past {@link #SNAPSHOT_MULTIPLE} snapshots. */
    public static final long CHECKPOINT_BYTES = 4L << 20;
    /**
     * A snapshot scripts the whole store, so its cost grows with the store: with 150,000 events in it, it took 2 s
     * here, and one every 4 MB of log took more than half of the ingest thread's time (docs/perf/sink-ingest.md,
     * section 10). Past a 2 MB snapshot the log may grow to twice the last snapshot first, which keeps a snapshot's
     * cost per event the same however large the store grows; a start after a crash replays at most that much log.
     */
    public static final int SNAPSHOT_MULTIPLE = 2;
    private static final byte MESSAGE = 1;
    private static final byte GENERATION = 2;
    /** Where a snapshot's generation begins in the log (see {@link #mark}); a start reads past it. */
    private static final byte MARK = 3;
    private static final int REPLAY_BATCH = 256;
    private final RedoLog log;
    private final boolean existed;
    private long generation;
    /** The highest generation marked for a snapshot: a failed snapshot's number is not used again. */
    private long marked;
    private long snapshotBytes;

    /** Writes a snapshot of the store marked with the given generation; see {@code H2Snapshot#write}. */
    @FunctionalInterface
    public interface Snapshots {
        /** @return the snapshot's size in bytes */
        long write(long generation) throws IOException;
    }

    private IngestRedo(RedoLog log, boolean existed, long generation, long marked) {
        this.log = log;
        this.existed = existed;
        this.generation = generation;
        this.marked = marked;
    }

    /**
     * A snapshot under way at {@code generation}: the log's records after its mark are the ones it may lack. The mark
     * is the record at byte {@code at} of the log (no rewrite comes between a mark and its finish).
     */
    public record Mark(long generation, long at) {
    }

    public static IngestRedo open(Path file) throws IOException {
        return open(file, RedoLog.FILES);
    }

    /** @param ops the file system: the real one, or the power-cut test's recording one */
    public static IngestRedo open(Path file, RedoLog.FileOps ops) throws IOException {
        boolean existed = java.nio.file.Files.exists(file);
        RedoLog log = RedoLog.open(file, ops);
        if (log.cutAtOpen() > 0) {
            Logger.warn("ingest redo log {}: {} bytes of a torn or unsynced tail cut off (their batches were never "
                    + "acknowledged, so the boxes still hold them)", file, log.cutAtOpen());
        }
        long[] generation = {0, 0}; // the log's, the highest marked (a snapshot a crash interrupted)
        log.<IOException>read(r -> {
            if (r[0] == GENERATION) {
                generation[0] = Math.max(generation[0], markOf(r));
            } else if (r[0] == MARK) {
                generation[1] = Math.max(generation[1], markOf(r));
            }
        });
        return new IngestRedo(log, existed, generation[0], Math.max(generation[0], generation[1]));
    }

    /**
     * Whether this store never finished a first start: the log was there before this start (a release that
     * writes it created it) but no snapshot was ever taken, which the first start does before anything
     * else can write. A store in that state that H2 cannot open holds nothing anyone was told about.
     */
    public boolean unfinishedFirstStart() {
        return existed && generation == 0;
    }

    /** The generation of the snapshot this log continues (0: none yet). */
    public long generation() {
        return generation;
    }

    /** Appends the batch's messages and syncs: after this the batch may be acknowledged. */
    public void logged(List<EventProcessor.Message> batch) throws IOException {
        List<byte[]> records = new ArrayList<>(batch.size());
        for (EventProcessor.Message m : batch) {
            records.add(encode(m));
        }
        log.append(records, true);
    }

    /**
     * Feeds every logged message through the processor, in order and in batches, without answering
     * anyone; returns how many were applied now (missing from the store) rather than answered DUPLICATE.
     */
    public int replayInto(EventProcessor processor) throws IOException {
        long start = System.nanoTime();
        List<EventProcessor.Message> batch = new ArrayList<>(REPLAY_BATCH);
        int[] counts = new int[2]; // messages, applied again
        log.<IOException>read(r -> {
            if (r[0] != MESSAGE) {
                return;
            }
            batch.add(decode(r));
            counts[0]++;
            if (batch.size() == REPLAY_BATCH) {
                counts[1] += applied(processor.processBatch(batch));
                batch.clear();
            }
        });
        if (!batch.isEmpty()) {
            counts[1] += applied(processor.processBatch(batch));
        }
        if (counts[1] == 0) {
            if (counts[0] > 0) {
                Logger.info("ingest redo log: {} acknowledged event(s) replayed in {} ms; the store had them all",
                        counts[0], (System.nanoTime() - start) / 1_000_000);
            }
        } else {
            Logger.warn("ingest redo log: {} acknowledged event(s) replayed in {} ms; {} that the store had lost were "
                    + "applied again", counts[0], (System.nanoTime() - start) / 1_000_000, counts[1]);
        }
        return counts[1];
    }

    private static int applied(List<Optional<Outbound>> answers) {
        int n = 0;
        for (Optional<Outbound> a : answers) {
            if (a.isPresent() && a.get().ack().outcome() != AckOutcome.DUPLICATE) {
                n++;
            }
        }
        return n;
    }

    /** The size of the snapshot this log continues, as found at the start (a checkpoint sets it afterwards). */
    public void snapshotBytes(long bytes) {
        snapshotBytes = bytes;
    }

    /** Whether the log is long enough for a {@link #checkpoint}. */
    public boolean checkpointDue() {
        return log.bytes() > checkpointBytes();
    }

    /** The log's size past which it is due: {@link #CHECKPOINT_BYTES}, or twice the last snapshot if that is more. */
    public long checkpointBytes() {
        return Math.max(CHECKPOINT_BYTES, SNAPSHOT_MULTIPLE * snapshotBytes);
    }

    /**
     * A snapshot of the store at the next generation, then a log that holds only that generation and what was logged
     * meanwhile: {@link #mark}, the snapshot, {@link #finish}. A crash in between leaves the old log beside the new
     * snapshot: replayed over it, it answers DUPLICATE.
     */
    public void checkpoint(Snapshots snapshots) throws IOException {
        Mark mark = mark();
        finish(mark, snapshots.write(mark.generation()));
    }

    /**
     * The first step of a checkpoint, between two batches: the log is marked at the next generation, and the
     * snapshot, started after this, holds every batch logged before the mark. Batches may go on being decided and
     * logged while it is written (on another thread); {@link #finish} keeps those. A start reads past the mark: until
     * the finish the log's generation is the one it began with.
     */
    public Mark mark() throws IOException {
        long next = marked + 1;
        long at = log.bytes();
        log.append(List.of(RedoLog.record(out -> {
            out.writeByte(MARK);
            out.writeLong(next);
        })), true);
        marked = next;
        return new Mark(next, at);
    }

    /**
     * The last step of a checkpoint, between two batches, once the snapshot of {@code mark}'s generation is written
     * and synced: a new log of that generation and of the records logged after the mark, in their order.
     *
     * @param snapshotBytes the snapshot's size: the next checkpoint is due past twice as much log
     * @throws IOException the mark is not in the log (the log stays whole), or the new log could not be written
     */
    public void finish(Mark mark, long snapshotBytes) throws IOException {
        try (RedoLog.Rewrite fresh = log.rewrite()) {
            fresh.add(List.of(generationRecord(mark.generation())));
            boolean[] after = {false};
            List<byte[]> kept = new ArrayList<>(REPLAY_BATCH);
            // from the mark on: the log before it (up to twice a snapshot) is not read again
            log.<IOException>readFrom(mark.at(), r -> {
                if (after[0]) {
                    kept.add(r);
                    if (kept.size() == REPLAY_BATCH) {
                        fresh.add(kept);
                        kept.clear();
                    }
                } else if (r[0] == MARK && markOf(r) == mark.generation()) {
                    after[0] = true;
                } else {
                    throw noMark(mark);
                }
            });
            if (!after[0]) {
                throw noMark(mark); // nothing at all from there on
            }
            fresh.add(kept);
            fresh.commit();
        }
        generation = mark.generation();
        this.snapshotBytes = snapshotBytes;
    }

    private static IOException noMark(Mark mark) {
        return new IOException("the ingest redo log holds no mark of generation " + mark.generation() + " at byte "
                + mark.at() + "; it is kept whole");
    }

    /** The generation a GENERATION or MARK record holds. */
    private static long markOf(byte[] r) throws IOException {
        try (DataInputStream in = in(r)) {
            in.readByte();
            return in.readLong();
        }
    }

    /** Bytes in the log now. */
    public long bytes() {
        return log.bytes();
    }

    @Override
    public void close() throws IOException {
        log.close();
    }

    private static byte[] generationRecord(long generation) {
        return RedoLog.record(out -> {
            out.writeByte(GENERATION);
            out.writeLong(generation);
        });
    }

    private static byte[] encode(EventProcessor.Message m) {
        return RedoLog.record(out -> {
            out.writeByte(MESSAGE);
            out.writeUTF(m.topic());
            out.writeInt(m.payload().length);
            out.write(m.payload());
        });
    }

    private static EventProcessor.Message decode(byte[] r) throws IOException {
        try (DataInputStream in = in(r)) {
            in.readByte();
            String topic = in.readUTF();
            return new EventProcessor.Message(topic, in.readNBytes(in.readInt()));
        }
    }

    private static DataInputStream in(byte[] r) {
        return new DataInputStream(new ByteArrayInputStream(r));
    }
}
