package app.sevenstamp.autopilot.sink.ingest;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** When the single-box sink's ingest redo log asks for a snapshot of the store. */
class IngestRedoTest {
    private static final long MB = 1L << 20;

    @TempDir
    Path dir;

    /** Up to a snapshot of 2 MB the log is due past 4 MB: about 9,000 events. */
    @Test
    void aSmallStoreIsSnapshottedPastFourMegabytesOfLog() throws Exception {
        try (IngestRedo redo = IngestRedo.open(dir.resolve("sink.ingest.redo"))) {
            redo.checkpoint(generation -> MB);
            assertEquals(IngestRedo.CHECKPOINT_BYTES, redo.checkpointBytes());
            grow(redo, IngestRedo.CHECKPOINT_BYTES - 64 * 1024);
            assertFalse(redo.checkpointDue(), "due at " + redo.bytes() + " bytes");
            grow(redo, IngestRedo.CHECKPOINT_BYTES + 1);
            assertTrue(redo.checkpointDue(), "not due at " + redo.bytes() + " bytes");
        }
    }

    /**
     * A snapshot scripts the whole store: with 150,000 events in it, one every 4 MB of log took half the ingest
     * thread's time. Past a 2 MB snapshot the log grows to twice the snapshot first.
     */
    @Test
    void aLargeStoreIsSnapshottedPastTwiceItsLastSnapshot() throws Exception {
        try (IngestRedo redo = IngestRedo.open(dir.resolve("sink.ingest.redo"))) {
            redo.checkpoint(generation -> 5 * MB);
            assertEquals(10 * MB, redo.checkpointBytes());
            grow(redo, 8 * MB);
            assertFalse(redo.checkpointDue(), "due at " + redo.bytes() + " bytes after a 5 MB snapshot");
            grow(redo, 10 * MB + 1);
            assertTrue(redo.checkpointDue(), "not due at " + redo.bytes() + " bytes after a 5 MB snapshot");

            redo.checkpoint(generation -> 3 * MB); // the next snapshot sets the next limit
            assertEquals(6 * MB, redo.checkpointBytes());
            assertFalse(redo.checkpointDue(), "a fresh log is not due");
        }
    }

    /** A restart knows the snapshot only from its file: the sink tells the log its size at the start. */
    @Test
    void aRestartedLogKeepsTheLimitOfTheSnapshotItContinues() throws Exception {
        Path file = dir.resolve("sink.ingest.redo");
        try (IngestRedo redo = IngestRedo.open(file)) {
            redo.checkpoint(generation -> 4 * MB);
            grow(redo, 6 * MB);
        }
        try (IngestRedo reopened = IngestRedo.open(file)) {
            assertEquals(1, reopened.generation());
            assertTrue(reopened.checkpointDue(), "without the snapshot's size the log is due past 4 MB");
            reopened.snapshotBytes(4 * MB);
            assertFalse(reopened.checkpointDue(), "due at " + reopened.bytes() + " bytes after a 4 MB snapshot");
        }
    }

    /** A finish without its mark would drop what was logged since the snapshot: it is refused, and the log kept. */
    @Test
    void aMarkTheLogDoesNotHoldLeavesTheLogWhole() throws Exception {
        try (IngestRedo redo = IngestRedo.open(dir.resolve("sink.ingest.redo"))) {
            redo.checkpoint(generation -> MB);
            grow(redo, MB);
            long before = redo.bytes();
            IOException e = assertThrows(IOException.class, () -> redo.finish(new IngestRedo.Mark(7, 0), MB));
            assertTrue(e.getMessage().contains("no mark of generation 7"), e.getMessage());
            assertEquals(before, redo.bytes());
            assertEquals(1, redo.generation());
        }
    }

    /**
     * A snapshot that failed, or that a crash cut short, leaves its mark in the log: the next one takes a new
     * generation, so that its finish keeps what came after its own mark, not after the older one.
     */
    @Test
    void aSnapshotThatNeverFinishedDoesNotLendItsGenerationToTheNext() throws Exception {
        Path file = dir.resolve("sink.ingest.redo");
        try (IngestRedo redo = IngestRedo.open(file)) {
            redo.checkpoint(generation -> MB);
            assertEquals(2, redo.mark().generation()); // its snapshot failed
            assertEquals(3, redo.mark().generation()); // and this one's was cut short by a crash
        }
        try (IngestRedo reopened = IngestRedo.open(file)) {
            assertEquals(1, reopened.generation(), "an unfinished snapshot does not change the log's generation");
            IngestRedo.Mark mark = reopened.mark();
            assertEquals(4, mark.generation());
            reopened.finish(mark, MB);
            assertEquals(4, reopened.generation());
        }
    }

    /** Appends batches of 64 KB messages until the log holds at least {@code bytes}. */
    private static void grow(IngestRedo redo, long bytes) throws Exception {
        byte[] payload = new byte[64 * 1024];
        while (redo.bytes() < bytes) {
            List<EventProcessor.Message> batch = new ArrayList<>();
            for (int i = 0; i < 16 && redo.bytes() + (long) i * payload.length < bytes; i++) {
                batch.add(new EventProcessor.Message("7stamp/v1/gw/box-1/stamps", payload));
            }
            if (batch.isEmpty()) {
                batch.add(new EventProcessor.Message("7stamp/v1/gw/box-1/stamps", new byte[(int) Math.min(payload.length,
                        Math.max(1, bytes - redo.bytes()))]));
            }
            redo.logged(batch);
        }
    }
}
