package app.sevenstamp.autopilot.gateway.uplink;

import app.sevenstamp.autopilot.gateway.outbox.Outbox;
import app.sevenstamp.autopilot.gateway.support.Ticker;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Objects;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.BooleanSupplier;
import org.tinylog.Logger;

/**
 * Once the wall clock is synchronised, rewrites this boot's events that were stored before it was, so
 * that they are sent with a trustworthy time. Runs in small batches on the outbox thread (appends go
 * first); events of earlier boots cannot be corrected (their monotonic time means nothing now) and
 * keep {@code clockSynced=false}. An event already in flight may reach the sink uncorrected; its
 * resend, if any, carries the corrected time under the same event id and is counted once.
 *
 * <p>Threading: a {@link LinkWorker}, added before the stamp sender so that a correction is made before
 * the next events are read for sending; its state belongs to the link's thread.
 */
final class ClockCorrector implements LinkWorker {
    private static final Duration CLOCK_POLL = Duration.ofSeconds(1);
    private static final Duration OUTBOX_WAIT = Duration.ofSeconds(5);
    private static final int CORRECTION_BATCH = 500;

    private final Outbox outbox;
    private final String bootId;
    private final Clock clock;
    private final Ticker ticker;
    private final BooleanSupplier clockSynced;
    /** {@link Outbox#unsyncedAppends()} as of the last complete correction. */
    private long correctedUpTo;

    /**
     * @param clock       the wall clock, for correcting events scanned before it synchronised
     * @param clockSynced whether the wall clock is synchronised now
     */
    ClockCorrector(Outbox outbox, String bootId, Clock clock, Ticker ticker, BooleanSupplier clockSynced) {
        this.outbox = Objects.requireNonNull(outbox, "outbox");
        this.bootId = Objects.requireNonNull(bootId, "bootId");
        this.clock = Objects.requireNonNull(clock, "clock");
        this.ticker = Objects.requireNonNull(ticker, "ticker");
        this.clockSynced = Objects.requireNonNull(clockSynced, "clockSynced");
    }

    @Override
    public long dueAt(long now) {
        // watch for the clock to synchronise while events wait for a correction
        return outbox.unsyncedAppends() > correctedUpTo ? now + CLOCK_POLL.toNanos() : Long.MAX_VALUE;
    }

    @Override
    public void run(long now) {
        long pendingUpTo = outbox.unsyncedAppends();
        if (pendingUpTo <= correctedUpTo || !clockSynced.getAsBoolean()) {
            return;
        }
        int total = 0;
        try {
            while (true) {
                Instant wallNow = clock.instant();
                long monoNow = ticker.nanoTime();
                int n = outbox.correctClock(bootId, wallNow, monoNow, CORRECTION_BATCH)
                        .get(OUTBOX_WAIT.toMillis(), TimeUnit.MILLISECONDS);
                total += n;
                if (n < CORRECTION_BATCH) {
                    break;
                }
            }
        } catch (ExecutionException | TimeoutException e) {
            Logger.warn("cannot correct the time of unsynchronised events ({}); trying again", e.toString());
            return;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt(); // the link's loop ends on it
            return;
        }
        correctedUpTo = pendingUpTo;
        if (total > 0) {
            Logger.info("clock synchronised: corrected the time of {} event(s) of this boot stored before it was", total);
        }
    }
}
