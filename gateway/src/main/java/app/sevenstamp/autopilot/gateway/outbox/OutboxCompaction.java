package app.sevenstamp.autopilot.gateway.outbox;

import java.util.concurrent.atomic.AtomicLong;

/**
 * When the outbox's files are rewritten smaller. H2 keeps freed space for {@code RETENTION_TIME} (45 s)
 * before reusing it, so a store that commits hundreds of times a second grows by ~40 KB per commit for
 * that long: H2 is compacted ({@code SHUTDOWN}, then the file rewritten with only the live rows ({@link H2FileRewrite}), then
 * reopen) when the backlog is small and the file is above {@link #COMPACT_ABOVE_BYTES}, and whatever the
 * backlog when the file reaches a quarter of {@code outbox.maxBytes}, has grown by an eighth of it since
 * the last compaction, and its copy would be smaller by an eighth of it too. The redo log is rewritten (acknowledged rows dropped) when it passes its rewrite
 * size, twice what the backlog needs and twice its size after the last rewrite. Decisions only; the outbox does the work. Outbox thread only,
 * except {@link #count}.
 */
final class OutboxCompaction {
    /** A bigger file with an empty backlog is compacted (closed, rewritten, reopened). */
    static final long COMPACT_ABOVE_BYTES = 4L << 20;
    /** At most this backlog counts as a quiet moment. */
    private static final long QUIET_BACKLOG = 1000;
    /** Generous bytes per waiting event in the redo log, to judge when a rewrite pays. */
    private static final long REDO_BYTES_PER_EVENT = 1024;
    /**
     * Bytes a waiting event takes in H2 at least, its payload stored as text (earlier releases' files: 379-435 in a
     * compacted file of 40,000-100,000): what a copy keeps of a file, so that a large one is copied only when the copy
     * will be much smaller.
     */
    private static final long H2_LIVE_BYTES_PER_TEXT_EVENT = 400;
    /**
     * The same with the payload stored as bytes (241 in a compacted file of 100,000: two stamps a page, compressed
     * together). Counting 400 for those, a burst that never paused grew the file into its limit: the copy kept being
     * judged too little smaller (OutboxDurabilityTest, a 2 MB limit, 4 runs in 4).
     */
    private static final long H2_LIVE_BYTES_PER_BINARY_EVENT = 200;

    private final long maxBytes;
    private final long redoRewriteBytes;
    private final AtomicLong compactions = new AtomicLong();
    private final AtomicLong failures = new AtomicLong();
    /** File size right after the last compaction. */
    private long sizeAfterCompaction;
    /** Redo log size right after its last rewrite (it carries the counter_history lines too). */
    private long redoAfterRewrite;

    OutboxCompaction(long maxBytes, long redoRewriteBytes) {
        this.maxBytes = maxBytes;
        this.redoRewriteBytes = redoRewriteBytes;
    }

    /**
     * Compaction is due in a quiet moment (small backlog) with a file bigger than needed; or, whatever
     * the backlog, with a file past a quarter of {@code outbox.maxBytes} that grew by an eighth of it
     * since the last compaction, when its copy will be an eighth of the limit smaller too: a counter that never
     * pauses cannot grow the file into the limit, and a large backlog, whose live rows alone are that big, is not
     * copied for nothing (a box back from an outage with 300,000 stamps in 131 MB did at every start, which waited
     * 7 s for it). {@code binaryPayload}: the file stores payloads as bytes ({@link OutboxSchema#binaryPayload}).
     */
    boolean h2Due(long size, long backlog, boolean binaryPayload) {
        long live = Math.max(backlog, 0) * (binaryPayload ? H2_LIVE_BYTES_PER_BINARY_EVENT : H2_LIVE_BYTES_PER_TEXT_EVENT);
        boolean quiet = size > COMPACT_ABOVE_BYTES && backlog <= QUIET_BACKLOG && size > 2 * sizeAfterCompaction;
        boolean large = size > maxBytes / 4 && size - sizeAfterCompaction > maxBytes / 8 && size - live > maxBytes / 8;
        return quiet || large;
    }

    /**
     * The redo log of {@code redoBytes} holds mostly acknowledged rows: past its rewrite size, twice what
     * the backlog needs and twice its size after the last rewrite (which also holds the counter_history
     * lines: a busy counter's day of them must not make every operation rewrite the log).
     */
    boolean redoDue(long redoBytes, long backlog) {
        long live = Math.max(backlog, 0) * REDO_BYTES_PER_EVENT;
        return redoBytes > redoRewriteBytes && redoBytes > 2 * live && redoBytes > 2 * redoAfterRewrite;
    }

    /** The redo log was rewritten to {@code size} bytes. */
    void redoRewritten(long size) {
        redoAfterRewrite = size;
    }

    /** H2 was compacted to {@code size} bytes. */
    void compacted(long size) {
        sizeAfterCompaction = size;
        compactions.incrementAndGet();
    }

    /**
     * A compaction of H2 at {@code size} bytes failed (a full disk: the copy needs room for the live rows): it is
     * due again once the file has grown as it must after a compaction, not at the next operation.
     */
    void failed(long size) {
        sizeAfterCompaction = size;
        failures.incrementAndGet();
    }

    /** A rewrite of the redo log failed with the log at {@code size} bytes: due again once it has doubled. */
    void redoRewriteFailed(long size) {
        redoAfterRewrite = size;
    }

    /** Failed compactions since open; any thread. */
    long failures() {
        return failures.get();
    }

    /** Compactions since open; any thread. */
    long count() {
        return compactions.get();
    }
}
