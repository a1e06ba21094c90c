package app.sevenstamp.autopilot.gateway.scan;

import app.sevenstamp.autopilot.protocol.support.NamedThreads;
import java.time.Duration;
import java.util.Objects;
import org.tinylog.Logger;

/**
 * The life of a device scanner's single reader thread, shared by the serial and the keyboard source: it
 * runs until {@link #close} is called, waits {@code retryEvery} between attempts to reopen a lost device,
 * and {@link #close} cuts that wait short and then waits a bounded time for the thread to end.
 */
final class ReaderThread {
    private final String name;
    private final Duration retryEvery;
    private final long closeWaitMillis;
    private final Object retryLock = new Object();
    private volatile boolean closed;
    private Thread thread;

    ReaderThread(String name, Duration retryEvery, long closeWaitMillis) {
        this.name = Objects.requireNonNull(name, "name");
        this.retryEvery = Objects.requireNonNull(retryEvery, "retryEvery");
        this.closeWaitMillis = closeWaitMillis;
    }

    void start(Runnable body) {
        thread = NamedThreads.daemon(name).newThread(body);
        thread.start();
    }

    Duration retryEvery() {
        return retryEvery;
    }

    /** Whether {@link #close} was called (or the thread was interrupted while waiting to retry). */
    boolean closed() {
        return closed;
    }

    /** Waits until it is time to reopen, or returns at once when closed. */
    void awaitRetry() {
        synchronized (retryLock) {
            if (!closed) {
                try {
                    retryLock.wait(retryEvery.toMillis());
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    closed = true;
                }
            }
        }
    }

    /**
     * Marks closed, wakes a waiting retry, runs {@code unblock} (closing a port ends a read blocked in it),
     * then waits at most the close wait for the thread and logs one warning naming {@code what} if it
     * is still alive.
     */
    void close(Runnable unblock, String what) {
        closed = true;
        synchronized (retryLock) {
            retryLock.notifyAll();
        }
        unblock.run();
        Thread t = thread;
        if (t != null) {
            try {
                t.join(closeWaitMillis);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            if (t.isAlive()) {
                Logger.warn("{} did not stop within {} ms", what, closeWaitMillis);
            }
        }
    }
}
