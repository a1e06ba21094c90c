package app.sevenstamp.autopilot.gateway.outbox;

import app.sevenstamp.autopilot.protocol.support.NamedThreads;
import java.util.Comparator;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.PriorityBlockingQueue;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;

/**
 * The outbox's one thread ({@code outbox}) and its queue: every operation on H2 and the redo log runs
 * here, so nothing else ever touches JDBC. Jobs run by priority, then in order of submission: appends (0)
 * before the drain and reads (1) before the shutdown (2), so a scan waiting for its green light waits at
 * most for the one job that is running. The queue is bounded: when it is full a submit fails at once
 * (counted in {@link #refused}).
 *
 * <p>Threading: {@link #submit} and {@link #stop} from any thread; jobs run on the owner thread only.
 */
final class OutboxExecutor {
    static final int MAX_QUEUED_TASKS = 4096;

    private final PriorityBlockingQueue<Job> jobs = new PriorityBlockingQueue<>(64,
            Comparator.comparingInt(Job::priority).thenComparingLong(Job::order));
    private final AtomicInteger queued = new AtomicInteger();
    private final AtomicLong order = new AtomicLong();
    private final AtomicLong refused = new AtomicLong();
    private final Thread owner;
    /** Runs on the owner thread when it stops, with the error for work that can no longer run. */
    private final Consumer<RejectedExecutionException> onStop;
    private volatile boolean closed;

    @FunctionalInterface
    interface Task<T> {
        T run() throws Exception;
    }

    private record Job(int priority, long order, Runnable run) {
    }

    /**
     * A job's future. {@code cancel} withdraws the job only while the owner thread has not started it (the
     * job then never runs); once it has started, {@code cancel} returns false and the future completes with
     * what the job did. A caller that gave up waiting thus learns whether the work can still happen.
     */
    private static final class JobFuture<T> extends CompletableFuture<T> {
        /** Claimed by whichever comes first: the owner thread starting the job, or a cancel. */
        private final AtomicBoolean claimed = new AtomicBoolean();

        boolean start() {
            return claimed.compareAndSet(false, true);
        }

        @Override
        public boolean cancel(boolean mayInterruptIfRunning) {
            return claimed.compareAndSet(false, true) && super.cancel(false);
        }
    }

    OutboxExecutor(String threadName, Consumer<RejectedExecutionException> onStop) {
        this.onStop = onStop;
        this.owner = NamedThreads.of(threadName).newThread(this::runJobs);
    }

    void start() {
        owner.start();
    }

    /** True once {@link #closeToNewWork} or {@link #stop} ran: submits fail at once. */
    boolean closed() {
        return closed;
    }

    /** New submits fail from now on; what is queued still runs. */
    void closeToNewWork() {
        closed = true;
    }

    /** Operations refused because the task queue was full. */
    long refused() {
        return refused.get();
    }

    /**
     * @param priority 0 for appends (a customer waits), 1 for the drain and reads, 2 for the shutdown
     * @return cancelling it withdraws the job if it has not started yet, else returns false ({@link JobFuture})
     */
    <T> CompletableFuture<T> submit(int priority, Task<T> task) {
        JobFuture<T> future = new JobFuture<>();
        if (closed) {
            future.completeExceptionally(new RejectedExecutionException("the outbox is closed"));
            return future;
        }
        if (queued.incrementAndGet() > MAX_QUEUED_TASKS) {
            queued.decrementAndGet();
            long n = refused.incrementAndGet();
            future.completeExceptionally(new RejectedExecutionException(
                    "the outbox queue is full (" + MAX_QUEUED_TASKS + " tasks; refused " + n + " so far)"));
            return future;
        }
        jobs.add(new Job(priority, order.incrementAndGet(), () -> {
            if (!future.start()) {
                return; // withdrawn by its caller before it started
            }
            try {
                future.complete(task.run());
            } catch (Throwable e) {
                future.completeExceptionally(e);
            }
        }));
        return future;
    }

    /** Stops the owner thread after the job it is running; waits for it at most a second. */
    void stop() {
        closed = true;
        jobs.add(new Job(Integer.MAX_VALUE, Long.MAX_VALUE, null));
        try {
            owner.join(1000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        if (owner.isAlive()) {
            owner.interrupt();
        }
    }

    private void runJobs() {
        while (true) {
            Job job;
            try {
                job = jobs.take();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
            if (job.run() == null) {
                onStop.accept(new RejectedExecutionException("the outbox is closed"));
                return;
            }
            queued.decrementAndGet();
            job.run().run();
        }
    }
}
