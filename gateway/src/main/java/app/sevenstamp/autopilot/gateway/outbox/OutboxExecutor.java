package app.sevenstamp.autopilot.gateway.outbox;

import app.sevenstamp.autopilot.protocol.support.NamedThreads;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
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
 * <p>Group commit: a job submitted to a {@link Group} runs together with the members of the same group
 * queued right behind it (up to {@link #MAX_GROUP}): the owner thread hands them all to the group's task
 * in one call, which completes each member's future. Appends use it to share one sync of the redo log.
 *
 * <p>Holding: while H2 is away (a compaction on a thread of its own), {@link #hold} lets only the jobs of
 * priority 0 run (the appends, which the redo log alone can confirm, and the watchdog's ping); every other
 * job stays queued, in its order, until {@link #resume}. {@link #submitUrgent} queues the job that ends
 * the hold: it runs before everything else, also once the executor is closed to new work.
 *
 * <p>Threading: {@link #submit}, {@link #submitUrgent} and {@link #stop} from any thread; jobs, {@link
 * #hold} and {@link #resume} on the owner thread only.
 */
final class OutboxExecutor {
    static final int MAX_QUEUED_TASKS = 4096;
    /**
     * At most this many members of a group run in one call: a burst larger than this takes more than one
     * sync, and the first of a long queue does not wait for the encoding and inserts of hundreds.
     */
    static final int MAX_GROUP = 64;

    private final PriorityBlockingQueue<Job> jobs = new PriorityBlockingQueue<>(64,
            Comparator.comparingInt(Job::priority).thenComparingLong(Job::order));
    private final AtomicInteger queued = new AtomicInteger();
    private final AtomicLong order = new AtomicLong();
    private final AtomicLong refused = new AtomicLong();
    private final Thread owner;
    /** Runs on the owner thread when it stops, with the error for work that can no longer run. */
    private final Consumer<RejectedExecutionException> onStop;
    private volatile boolean closed;
    // owner thread only
    /** While true, only jobs of priority 0 (and urgent ones) run; see {@link #hold}. */
    private boolean holding;
    private final List<Job> held = new ArrayList<>();

    @FunctionalInterface
    interface Task<T> {
        T run() throws Exception;
    }

    /** The stop marker has neither a run nor a group. */
    private record Job(int priority, long order, Runnable run, Group<?, ?> group, Member<?, ?> member) {
    }

    /** Runs a group's members; must complete every member's future (what it leaves open fails). */
    @FunctionalInterface
    interface GroupTask<I, T> {
        void run(List<Member<I, T>> members) throws Exception;
    }

    /** Jobs that may run together; identity decides which queued jobs belong to it. */
    static final class Group<I, T> {
        private final GroupTask<I, T> task;

        Group(GroupTask<I, T> task) {
            this.task = task;
        }
    }

    /** One submitted input of a group, and the future its caller holds. */
    record Member<I, T>(I input, CompletableFuture<T> future) {
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
     * @param priority 0 for appends (a customer waits) and the ping, 1 for the drain and reads, 2 for the shutdown
     * @return cancelling it withdraws the job if it has not started yet, else returns false ({@link JobFuture})
     */
    <T> CompletableFuture<T> submit(int priority, Task<T> task) {
        JobFuture<T> future = new JobFuture<>();
        if (!admit(future)) {
            return future;
        }
        jobs.add(job(priority, future, task));
        return future;
    }

    private <T> Job job(int priority, JobFuture<T> future, Task<T> task) {
        return new Job(priority, order.incrementAndGet(), () -> {
            if (!future.start()) {
                return; // withdrawn by its caller before it started
            }
            try {
                future.complete(task.run());
            } catch (Throwable e) {
                future.completeExceptionally(e);
            }
        }, null, null);
    }

    /**
     * Queues {@code task} ahead of every other job, bypassing the bound and the closing: for the end of a
     * hold (what holds the others back must get to run, or a close would wait for nothing).
     */
    <T> CompletableFuture<T> submitUrgent(Task<T> task) {
        JobFuture<T> future = new JobFuture<>();
        queued.incrementAndGet();
        jobs.add(job(-1, future, task));
        return future;
    }

    /** From now until {@link #resume}, only jobs of priority 0 and urgent ones run. Owner thread only. */
    void hold() {
        holding = true;
    }

    /** Ends {@link #hold}: the jobs held back run next, in their order. Owner thread only. */
    void resume() {
        holding = false;
        jobs.addAll(held);
        held.clear();
    }

    /** Takes a place in the queue, or refuses {@code future} (closed, or the queue bound reached). */
    private boolean admit(JobFuture<?> future) {
        if (closed) {
            future.completeExceptionally(new RejectedExecutionException("the outbox is closed"));
            return false;
        }
        if (queued.incrementAndGet() > MAX_QUEUED_TASKS) {
            queued.decrementAndGet();
            long n = refused.incrementAndGet();
            future.completeExceptionally(new RejectedExecutionException(
                    "the outbox queue is full (" + MAX_QUEUED_TASKS + " tasks; refused " + n + " so far)"));
            return false;
        }
        return true;
    }

    /**
     * Like {@link #submit}, for a member of {@code group}: it runs with the members queued behind it.
     * Cancelling withdraws it while it has not started; the queue bound and the refusal are the same.
     */
    <I, T> CompletableFuture<T> submit(int priority, Group<I, T> group, I input) {
        JobFuture<T> future = new JobFuture<>();
        if (!admit(future)) {
            return future;
        }
        jobs.add(new Job(priority, order.incrementAndGet(), null, group, new Member<>(input, future)));
        return future;
    }

    /** Stops the owner thread after the job it is running; waits for it at most a second. */
    void stop() {
        closed = true;
        jobs.add(new Job(Integer.MAX_VALUE, Long.MAX_VALUE, null, null, null));
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
            if (holding && job.priority() > 0) {
                held.add(job); // back in the queue at resume(), with its place in the order
                continue;
            }
            if (job.group() != null) {
                runGroup(job.group(), job);
                continue;
            }
            if (job.run() == null) {
                onStop.accept(new RejectedExecutionException("the outbox is closed"));
                return;
            }
            queued.decrementAndGet();
            job.run().run();
        }
    }

    /** Takes the members of {@code group} queued right behind {@code first} and runs them in one call. */
    private <I, T> void runGroup(Group<I, T> group, Job first) {
        List<Member<I, T>> members = new ArrayList<>();
        claim(group, first, members);
        for (int taken = 1; taken < MAX_GROUP; taken++) {
            Job next = jobs.peek();
            if (next == null || next.group() != group) {
                break;
            }
            next = jobs.poll(); // this thread alone takes from the queue: the head is still a job, maybe a newer one
            if (next.group() != group) {
                jobs.add(next);
                break;
            }
            claim(group, next, members);
        }
        if (members.isEmpty()) {
            return;
        }
        try {
            group.task.run(members);
        } catch (Throwable e) {
            for (Member<I, T> m : members) {
                m.future().completeExceptionally(e);
            }
        }
        for (Member<I, T> m : members) {
            if (!m.future().isDone()) {
                m.future().completeExceptionally(new IllegalStateException("a grouped job left its future open"));
            }
        }
    }

    /** Counts the job as taken; keeps its member unless its caller withdrew it before it started. */
    @SuppressWarnings("unchecked")
    private <I, T> void claim(Group<I, T> group, Job job, List<Member<I, T>> members) {
        queued.decrementAndGet();
        Member<I, T> m = (Member<I, T>) job.member();
        if (((JobFuture<T>) m.future()).start()) {
            members.add(m);
        }
    }
}
