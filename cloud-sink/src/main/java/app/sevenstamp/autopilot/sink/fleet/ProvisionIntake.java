package app.sevenstamp.autopilot.sink.fleet;

import app.sevenstamp.autopilot.protocol.support.LogBudget;
import app.sevenstamp.autopilot.protocol.support.TokenBucket;
import java.util.ArrayDeque;
import java.util.Queue;
import java.util.concurrent.Executor;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.BiConsumer;
import java.util.function.LongSupplier;
import org.tinylog.Logger;

/**
 * Provisioning requests on their way from Paho's callback thread to the fleet thread, kept apart from
 * the fleet's other messages.
 *
 * <p>The provisioning login is public, so anyone can send requests as fast as a socket takes them.
 * Shared with the statuses and command acks, such a flood filled the fleet's queue: a box's status was
 * dropped, the setup after a reconnect could be, and every request cost a database transaction and a
 * QoS 1 answer. Here requests are admitted at most {@link #RATE_PER_SECOND} a second (a burst of
 * {@link #BURST}); the rest are dropped unread and counted. Admitted ones wait in a queue of their own,
 * which the fleet thread drains a few at a time between its other work. A real box provisions once and
 * retries with a new nonce when unanswered, so a flood delays it, and nothing else. What the sink cannot
 * do with one shared login is tell the stranger's requests from a box's: a long flood denies
 * provisioning itself, and the drop counter and its log line show that one is going on.
 */
final class ProvisionIntake {
    static final int RATE_PER_SECOND = 20;
    static final int BURST = 40;
    /** Requests handled per turn of the fleet thread before its other work gets a turn. */
    private static final int PER_TURN = 4;

    private record Request(String nonce, byte[] payload) {
    }

    private final Executor fleetThread;
    private final BiConsumer<String, byte[]> handler;
    private final Queue<Request> queue = new ArrayDeque<>(BURST);
    private final AtomicBoolean scheduled = new AtomicBoolean();
    private final LongAdder dropped = new LongAdder();
    private final LongAdder admitted = new LongAdder();
    private final LogBudget dropLines;
    /** The one task this puts on the fleet thread's queue; {@link #rejected} when that queue is full. */
    final Runnable drain = this::drain;
    private final TokenBucket rate;

    /**
     * @param handler  handles one request on the fleet thread
     * @param nanoTime a monotonic clock ({@code System::nanoTime})
     */
    ProvisionIntake(Executor fleetThread, BiConsumer<String, byte[]> handler, LongSupplier nanoTime) {
        this.fleetThread = fleetThread;
        this.handler = handler;
        this.dropLines = new LogBudget(1, java.time.Duration.ofMinutes(1), nanoTime);
        this.rate = new TokenBucket(RATE_PER_SECOND, BURST, nanoTime);
    }

    /** On Paho's callback thread: admits the request or drops it, without waiting. */
    void offer(String nonce, byte[] payload) {
        boolean queued;
        synchronized (queue) {
            queued = rate.take() && queue.size() < BURST && queue.add(new Request(nonce, payload));
        }
        if (!queued) {
            dropped.increment();
            long skipped = dropLines.take();
            if (skipped >= 0) {
                Logger.warn("fleet: provisioning requests arrive faster than {} a second; dropping the excess unread "
                        + "(someone may be flooding the public provisioning login; a box retries){}", RATE_PER_SECOND,
                        LogBudget.leftOut(skipped));
            }
            return;
        }
        admitted.increment();
        schedule();
    }

    private void schedule() {
        if (scheduled.compareAndSet(false, true)) {
            fleetThread.execute(drain);
        }
    }

    /** The fleet thread's queue was full: the next request schedules the drain again. */
    void rejected() {
        scheduled.set(false);
    }

    private void drain() {
        for (int i = 0; i < PER_TURN; i++) {
            Request r;
            synchronized (queue) {
                r = queue.poll();
            }
            if (r == null) {
                break;
            }
            handler.accept(r.nonce(), r.payload());
        }
        scheduled.set(false);
        boolean more;
        synchronized (queue) {
            more = !queue.isEmpty();
        }
        if (more) {
            schedule();
        }
    }

    long dropped() {
        return dropped.sum();
    }

    long admitted() {
        return admitted.sum();
    }
}
