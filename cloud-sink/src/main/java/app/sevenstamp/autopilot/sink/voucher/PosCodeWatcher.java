package app.sevenstamp.autopilot.sink.voucher;

import app.sevenstamp.autopilot.protocol.support.NamedThreads;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Objects;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.tinylog.Logger;

/**
 * Looks at the till-code file at most every {@link #CHECK_EVERY} on its own thread ("pos-codes") and lets
 * the pool read it again when it changed ({@link PosCodePool#refresh}), so that a shop that loads a new batch
 * of codes into its till and into the file needs no restart. The thread wakes every {@link #TICK} and asks
 * the clock whether a check is due: the clock is the sink's, so a test moves time instead of waiting.
 * A check is a stat of the file; only a changed file is read.
 */
public final class PosCodeWatcher implements AutoCloseable {
    /** How often the file is looked at. */
    public static final Duration CHECK_EVERY = Duration.ofSeconds(30);
    static final Duration TICK = Duration.ofSeconds(1);

    private final PosCodePool pool;
    private final Clock clock;
    private final Duration every;
    private final ScheduledExecutorService timer = Executors.newSingleThreadScheduledExecutor(
            NamedThreads.daemon("pos-codes"));
    private Instant next; // only the timer thread touches it

    private PosCodeWatcher(PosCodePool pool, Clock clock, Duration every) {
        this.pool = Objects.requireNonNull(pool, "pool");
        this.clock = Objects.requireNonNull(clock, "clock");
        this.every = every;
        this.next = clock.instant().plus(every);
    }

    /** Starts watching; the first check is {@link #CHECK_EVERY} after now (the start has just imported the file). */
    public static PosCodeWatcher start(PosCodePool pool, Clock clock) {
        return start(pool, clock, CHECK_EVERY, TICK);
    }

    static PosCodeWatcher start(PosCodePool pool, Clock clock, Duration every, Duration tick) {
        PosCodeWatcher w = new PosCodeWatcher(pool, clock, every);
        w.timer.scheduleWithFixedDelay(w::tick, tick.toMillis(), tick.toMillis(), TimeUnit.MILLISECONDS);
        return w;
    }

    private void tick() {
        Instant now = clock.instant();
        if (now.isBefore(next.minus(every))) {
            next = now; // the clock was set back: a check due in an hour would leave new codes unseen that long
        }
        if (now.isBefore(next)) {
            return;
        }
        next = now.plus(every);
        try {
            pool.refresh(now);
        } catch (RuntimeException e) {
            // a thrown task would end the schedule: keep watching
            Logger.error(e, "vouchers.posCodes: checking the till-code file failed; trying again in {} s",
                    every.toSeconds());
        }
    }

    @Override
    public void close() {
        // no interrupt: H2 closes its whole database when a thread is interrupted inside a write, and the
        // rest of the sink (ingest's last batch) still needs it; a running import is short, so let it finish
        timer.shutdown();
        try {
            if (!timer.awaitTermination(10, TimeUnit.SECONDS)) {
                Logger.warn("the pos-codes thread did not stop within 10 s");
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
