package app.sevenstamp.autopilot.sink.ingest;

import app.sevenstamp.autopilot.protocol.AckOutcome;
import app.sevenstamp.autopilot.protocol.support.RedoLog;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.tinylog.Logger;

/**
 * The single-box sink's durable record of the stamp events it acknowledged ({@code <store>.ingest.redo}),
 * for the H2 store only: H2 2.5 can lose commits it wrote and synced, and roll back after a crash
 * (docs/durability.md), and the box deletes an event once the sink acknowledged it, so the sink must
 * keep it somewhere that survives. Each batch's messages are appended and fdatasynced after the
 * batch's transaction commits and before any answer goes out. At start, before the ingest subscribes,
 * the log is replayed through the same {@link EventProcessor}: events H2 still has answer DUPLICATE,
 * lost ones are applied again, in their original order.
 *
 * <p>The log is emptied at a clean stop (after H2's SHUTDOWN), but only when this run's replay found
 * nothing missing: after a crash, H2's first clean close can bring back an older state, so the log is
 * kept until a later start shows H2 whole. PostgreSQL needs none of this (its commit is durable).
 *
 * <p>Owned by the ingest thread while it runs; the replay and the stop run before and after it.
 */
public final class IngestRedo implements AutoCloseable {
    private static final int REPLAY_BATCH = 256;
    private final RedoLog log;
    private volatile boolean wholeAtStart = true;

    private IngestRedo(RedoLog log) {
        this.log = log;
    }

    public static IngestRedo open(Path file) throws IOException {
        return open(file, RedoLog.FILES);
    }

    /** @param ops the file system: the real one, or the power-cut test's recording one */
    public static IngestRedo open(Path file, RedoLog.FileOps ops) throws IOException {
        RedoLog log = RedoLog.open(file, ops);
        if (log.cutAtOpen() > 0) {
            Logger.warn("ingest redo log {}: {} bytes of a torn or unsynced tail cut off (their batches were never "
                    + "acknowledged, so the boxes still hold them)", file, log.cutAtOpen());
        }
        return new IngestRedo(log);
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
        if (log.bytes() == 0) {
            return 0;
        }
        long start = System.nanoTime();
        List<EventProcessor.Message> batch = new ArrayList<>(REPLAY_BATCH);
        int[] counts = new int[2]; // messages, applied again
        log.<IOException>read(r -> {
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
        wholeAtStart = counts[1] == 0;
        if (wholeAtStart) {
            Logger.info("ingest redo log: {} acknowledged event(s) replayed in {} ms; the store had them all", counts[0],
                    (System.nanoTime() - start) / 1_000_000);
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

    /** After the store's clean SHUTDOWN: empties the log if this run started with the store whole. */
    public void cleanStop() {
        if (!wholeAtStart) {
            Logger.info("ingest redo log kept: this run restored events H2 had lost, so the next start replays it once "
                    + "more (H2 can come back older after the first clean close that follows a crash)");
            return;
        }
        try (RedoLog.Rewrite empty = log.rewrite()) {
            empty.commit();
        } catch (IOException e) {
            Logger.warn("ingest redo log not emptied ({}); the next start replays it, which is harmless", e.toString());
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

    private static byte[] encode(EventProcessor.Message m) {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream(m.payload().length + 64);
        try (DataOutputStream out = new DataOutputStream(bytes)) {
            out.writeUTF(m.topic());
            out.writeInt(m.payload().length);
            out.write(m.payload());
        } catch (IOException e) {
            throw new UncheckedIOException(e); // a byte array does not fail
        }
        return bytes.toByteArray();
    }

    private static EventProcessor.Message decode(byte[] r) throws IOException {
        try (DataInputStream in = new DataInputStream(new ByteArrayInputStream(r))) {
            String topic = in.readUTF();
            return new EventProcessor.Message(topic, in.readNBytes(in.readInt()));
        }
    }
}
