package app.sevenstamp.autopilot.gateway.outbox;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import app.sevenstamp.autopilot.gateway.support.Ticker;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.io.TempDir;

/**
 * An open and a compaction of H2 with a long backlog fit in a small heap (the open's case is at its test). H2's {@code SHUTDOWN COMPACT} copies the file
 * through two stores of its own, each with H2's default 16 MB page cache whatever {@code CACHE_SIZE} says: with
 * 100,000 stamps waiting it lifted the box's heap by 8-15 MB in the middle of a drain, the peak of the box's
 * resident memory (docs/perf/outbox-compaction.md). A JVM with a 20 MB heap, the box's collector and
 * {@code ExitOnOutOfMemoryError} opens an outbox of {@value #BACKLOG} stamps (40-50 MB of file), compacts it
 * and must find every stamp, in order, afterwards.
 */
@Tag("slow")
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class OutboxCompactionHeapTest {
    static final int BACKLOG = 40_000;
    private static final int OPEN_HEAP_MB = 12;
    private static final Instant T0 = Instant.parse("2026-11-23T07:02:11.345Z");

    /** Filled once, by {@link #fill}; the open does not change the rows, the compaction runs last. */
    @TempDir
    static Path dir;
    private static final List<String> APPENDED = new ArrayList<>();

    @BeforeAll
    static void fill() throws Exception {
        try (Outbox outbox = Outbox.open(dir, Clock.fixed(T0, ZoneOffset.UTC), Ticker.SYSTEM, OutboxLimits.DEFAULT)) {
            List<CompletableFuture<StoredEvent>> batch = new ArrayList<>();
            for (int i = 1; i <= BACKLOG; i++) {
                batch.add(outbox.append(OutboxDurabilityTest.draft(i, i, true)));
                if (batch.size() == 500 || i == BACKLOG) { // a queue at the counter: the appends share a sync
                    for (CompletableFuture<StoredEvent> f : batch) {
                        APPENDED.add(f.get(30, TimeUnit.SECONDS).eventId());
                    }
                    batch.clear();
                }
            }
        }
    }

    /**
     * The open's damage probe reads every row, and keeps their numbers and ids for the replay (2.4 MB at 100,000).
     * Read in one query, H2 built the whole result first: 100,000 rows needed a 28 MB heap to open, and lifted the
     * box's VmRSS at the peak of the drain that followed from 75 to 92 MB. In batches, or in one lazy query as now,
     * 12 MB (10 MB before the probe kept the rows). Here {@value #BACKLOG} stamps must open in {@value #OPEN_HEAP_MB}
     * MB; without {@code LAZY_QUERY_EXECUTION} they do not.
     */
    @Test
    @Order(1)
    void aLongBacklogOpensInATwelveMegabyteHeap() throws Exception {
        String output = runChild("open", "-Xms4m", "-Xmx" + OPEN_HEAP_MB + "m", OpenInASmallHeap.class, dir.toString());
        assertTrue(output.contains("opened with " + BACKLOG + " waiting, replayed with the probe's rows"), output);
    }

    @Test
    @Order(2)
    void aLongBacklogIsCompactedInATwentyMegabyteHeap() throws Exception {
        long before = Files.size(dir.resolve("outbox.mv.db"));
        // outbox.maxBytes twice the file: past a quarter of it and grown by more than an eighth, a compaction is due
        long maxBytes = 2 * before;

        String output = runChild("compaction", "-Xms8m", "-Xmx20m", CompactInASmallHeap.class, dir.toString(),
                String.valueOf(BACKLOG), String.valueOf(maxBytes));
        assertTrue(output.contains("compacted " + BACKLOG), output);
        long after = Files.size(dir.resolve("outbox.mv.db"));
        // measured 25,168 -> 16,988 KB (with the index on event_id that earlier releases had, the file grew faster, under half)
        assertTrue(after < before * 3 / 4, "the file was rewritten smaller: " + before / 1024 + " -> " + after / 1024 + " KB");

        try (Outbox outbox = Outbox.open(dir, Clock.fixed(T0, ZoneOffset.UTC))) {
            assertEquals(APPENDED, outbox.pending(0, BACKLOG + 1).get(60, TimeUnit.SECONDS).stream()
                    .map(StoredEvent::eventId).toList(), "every stamp, in order, once");
        }
    }

    /**
     * Runs {@code main} in a JVM of its own with the box's collector and {@code ExitOnOutOfMemoryError}, and the heap
     * given; fails unless it exits with 0 within 3 minutes. Returns its output.
     */
    private static String runChild(String what, String initialHeap, String maxHeap, Class<?> main, String... args)
            throws Exception {
        Path log = dir.resolve(what + ".log");
        List<String> command = new ArrayList<>(List.of(javaCommand(), initialHeap, maxHeap, "-XX:+UseSerialGC",
                "-XX:+ExitOnOutOfMemoryError", "-cp", System.getProperty("java.class.path"), main.getName()));
        command.addAll(List.of(args));
        Process child = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(log.toFile()).start();
        try {
            assertTrue(child.waitFor(3, TimeUnit.MINUTES), "the " + what + " did not end within 3 minutes:\n" + read(log));
        } finally {
            child.destroyForcibly();
        }
        assertEquals(0, child.exitValue(), "the child's output:\n" + read(log));
        return read(log);
    }

    private static String javaCommand() {
        return ProcessHandle.current().info().command().orElse("java");
    }

    private static String read(Path log) throws IOException {
        return Files.exists(log) ? Files.readString(log) : "(no output)";
    }

    /** The child: opens the outbox and says how many wait, and whether the replay took the probe's rows. */
    static final class OpenInASmallHeap {
        public static void main(String[] args) throws Exception {
            try (Outbox outbox = Outbox.open(Path.of(args[0]), Clock.systemUTC())) {
                boolean probed = !outbox.lastReplay().orElseThrow().probeDisagreed();
                System.out.println("opened with " + outbox.count().get(60, TimeUnit.SECONDS) + " waiting, replayed with "
                        + (probed ? "the probe's rows" : "look-ups in H2"));
            }
        }
    }

    /** The child: opens the outbox with limits that make a compaction due at its first operation, and waits. */
    static final class CompactInASmallHeap {
        public static void main(String[] args) throws Exception {
            Path dir = Path.of(args[0]);
            long expected = Long.parseLong(args[1]);
            OutboxLimits limits = new OutboxLimits(1_000_000, Long.parseLong(args[2]), 0, 95);
            try (Outbox outbox = Outbox.open(dir, Clock.systemUTC(), Ticker.SYSTEM, limits)) {
                outbox.delete(-1, "no-such-event"); // an operation: its housekeeping starts the compaction
                await("a compaction").atMost(Duration.ofMinutes(2)).until(() -> outbox.compactions() > 0);
                long rows = outbox.count().get(60, TimeUnit.SECONDS);
                System.out.println("compacted " + rows + " of " + expected + " stamps");
            }
        }
    }
}
