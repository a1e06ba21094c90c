package app.sevenstamp.autopilot.protocol.support;

import java.time.Duration;
import java.util.function.LongSupplier;

/**
 * A few lines of one kind per period, the rest counted: for what a stranger can make happen as often as
 * they like (a refused provisioning request, a dropped message). A line per event would fill the disk and
 * crowd out the lines that matter (journald drops a unit's lines beyond its own rate limit); none would
 * hide an attack. The first line after a quiet stretch says how many were left out.
 */
public final class LogBudget {
    private final int linesPerPeriod;
    private final long periodNanos;
    private final LongSupplier nanoTime;
    private long periodStart;
    private int used;
    private long skipped;

    /** @param nanoTime a monotonic clock ({@code System::nanoTime}) */
    public LogBudget(int linesPerPeriod, Duration period, LongSupplier nanoTime) {
        if (linesPerPeriod < 1 || period.isNegative() || period.isZero()) {
            throw new IllegalArgumentException("a budget needs at least one line in a positive period");
        }
        this.linesPerPeriod = linesPerPeriod;
        this.periodNanos = period.toNanos();
        this.nanoTime = nanoTime;
        this.periodStart = nanoTime.getAsLong();
    }

    /** Ten lines a minute. */
    public static LogBudget tenAMinute() {
        return new LogBudget(10, Duration.ofMinutes(1), System::nanoTime);
    }

    /**
     * Takes one line from the budget.
     *
     * @return -1 when this line is not to be logged (it is counted); otherwise how many lines were left
     *         out before it (0 mostly), for the caller to say so
     */
    public synchronized long take() {
        long now = nanoTime.getAsLong();
        if (now - periodStart >= periodNanos) {
            periodStart = now;
            used = 0;
        }
        if (used >= linesPerPeriod) {
            skipped++;
            return -1;
        }
        used++;
        long before = skipped;
        skipped = 0;
        return before;
    }

    /** " (N more like it not logged)" for N > 0, else empty: to append to the line. */
    public static String leftOut(long skipped) {
        return skipped > 0 ? " (" + skipped + " more like it since the last such line, not logged)" : "";
    }
}
