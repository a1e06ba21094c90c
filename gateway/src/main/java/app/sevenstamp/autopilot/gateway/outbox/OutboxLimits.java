package app.sevenstamp.autopilot.gateway.outbox;

/**
 * How much the outbox may hold. Nothing beyond these is ever stored, and nothing inside them is ever
 * dropped: a scan that does not fit is refused with STORAGE_FAULT, so the customer knows.
 *
 * @param maxEvents       unacknowledged events at most ({@code outbox.maxEvents})
 * @param maxBytes        the database file at most, in bytes ({@code outbox.maxBytes})
 * @param minFreeBytes    free space kept on the outbox's file system ({@code outbox.minFreeBytes}): H2 closes
 *                        the store when a write fails, and deletes and compaction need room too, so appends
 *                        stop before the disk is really full
 * @param nearFullPercent the alarm threshold, in percent of the limits above ({@code outbox.nearFullPercent})
 */
public record OutboxLimits(long maxEvents, long maxBytes, long minFreeBytes, int nearFullPercent) {
    /** A million events (about 500 MB of backlog at ~500 bytes each would not fit; maxBytes decides first). */
    public static final OutboxLimits DEFAULT = new OutboxLimits(1_000_000, 512L << 20, 16L << 20, 80);

    public OutboxLimits {
        if (maxEvents < 1 || maxBytes < 1 || minFreeBytes < 0 || nearFullPercent < 1 || nearFullPercent > 99) {
            throw new IllegalArgumentException("bad outbox limits: maxEvents=" + maxEvents + " maxBytes=" + maxBytes
                    + " minFreeBytes=" + minFreeBytes + " nearFullPercent=" + nearFullPercent);
        }
    }

    /** Where the near-full alarm starts, in events. */
    long nearFullEvents() {
        return maxEvents * nearFullPercent / 100;
    }

    /** Where the near-full alarm starts, in bytes of the file. */
    long nearFullBytes() {
        return maxBytes / 100 * nearFullPercent;
    }
}
