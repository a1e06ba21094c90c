package app.sevenstamp.autopilot.protocol.support;

import java.time.Duration;
import java.util.Objects;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.LongSupplier;
import org.tinylog.Logger;

/**
 * Keeps systemd from killing a start that is slow but working. A unit's TimeoutStartSec= is sized for the usual
 * start; a box back from a long outage opens its outbox with every stamp it kept, which takes longer the more it
 * kept (3.6 s for 100,000 on this project's 2-CPU build machine, several times that on a Pi). A kill at the timeout
 * would repeat at every restart, since each start reads the same backlog again: the box would never come back.
 *
 * <p>So while the start runs, every {@link #PERIOD} this asks systemd for {@link #EXTENSION} more
 * (EXTEND_TIMEOUT_USEC), but only while the process is working: its CPU time grew by {@link #MIN_WORK} or more since
 * the last look. A start that hangs (a lock, a dead disk, a network call without a timeout) uses no CPU, is not
 * extended and is killed at the unit's timeout as before; and no start is extended beyond {@link #LIMIT}.
 *
 * <p>Threading: one daemon thread ({@code systemd-start}) looks and sends; {@link #phase} may be called from any
 * thread. Outside systemd nothing runs.
 */
public final class StartExtension implements AutoCloseable {
    static final Duration PERIOD = Duration.ofSeconds(2);
    /** Several periods: one look delayed by a busy machine costs nothing. */
    static final Duration EXTENSION = Duration.ofSeconds(10);
    /** 2.5 % of one core over a period; a start that hangs uses next to none (a JVM at rest: a few ms a period). */
    static final Duration MIN_WORK = Duration.ofMillis(50);
    static final Duration LIMIT = Duration.ofMinutes(30);
    /** From here on a start is slow enough to say so in the log. */
    static final Duration USUAL = Duration.ofSeconds(10);
    /** {@link #cpuNanos} when the kernel does not tell: every look counts as work, up to {@link #LIMIT}. */
    static final long CPU_UNKNOWN = -1;

    private final SystemdNotifier notifier;
    private final LongSupplier cpuNanos;
    private final LongSupplier nanoTime;
    private final long started;
    private final ScheduledExecutorService timer;
    private volatile String phase = "starting";
    private long cpuAtLastLook;
    private boolean toldSlow;
    private boolean stalled;
    private boolean overLimit;

    StartExtension(SystemdNotifier notifier, LongSupplier cpuNanos, LongSupplier nanoTime, ScheduledExecutorService timer) {
        this.notifier = notifier;
        this.cpuNanos = cpuNanos;
        this.nanoTime = nanoTime;
        this.timer = timer;
        this.started = nanoTime.getAsLong();
        this.cpuAtLastLook = 0; // the JVM's own start is work: the first look extends
    }

    /** Starts looking when this runs under systemd with Type=notify; otherwise returns one that does nothing. */
    public static StartExtension start(SystemdNotifier notifier) {
        Objects.requireNonNull(notifier, "notifier");
        if (!notifier.active()) {
            return new StartExtension(notifier, () -> 0, System::nanoTime, null);
        }
        StartExtension e = new StartExtension(notifier, StartExtension::processCpuNanos, System::nanoTime,
                Executors.newSingleThreadScheduledExecutor(NamedThreads.daemon("systemd-start")));
        e.timer.scheduleWithFixedDelay(e::look, 0, PERIOD.toMillis(), TimeUnit.MILLISECONDS);
        return e;
    }

    /** What the start is doing now, for {@code systemctl status} while it is extended. */
    public void phase(String what) {
        this.phase = Objects.requireNonNull(what, "what");
    }

    /** One look: extends when the process worked since the last one. Package-private for tests. */
    void look() {
        try {
            long now = nanoTime.getAsLong();
            long cpu = cpuNanos.getAsLong();
            long worked = cpu == CPU_UNKNOWN ? Long.MAX_VALUE : cpu - cpuAtLastLook;
            cpuAtLastLook = cpu;
            long seconds = TimeUnit.NANOSECONDS.toSeconds(now - started);
            if (now - started > LIMIT.toNanos()) {
                if (!overLimit) {
                    Logger.warn("the start has taken {} s ({}); no more time asked of systemd, whose start timeout now "
                            + "ends it", seconds, phase);
                    overLimit = true;
                }
                return;
            }
            if (worked < MIN_WORK.toNanos()) {
                if (!stalled) {
                    Logger.warn("the start did no work for {} ms ({}); no more time asked of systemd, whose start "
                            + "timeout ends it unless it goes on", PERIOD.toMillis(), phase);
                    stalled = true;
                }
                return;
            }
            if (stalled) {
                Logger.info("the start is working again ({})", phase);
                stalled = false;
            }
            if (!toldSlow && now - started >= USUAL.toNanos()) {
                Logger.info("the start is taking longer than usual ({} s: {}); asking systemd for more time while it works",
                        seconds, phase);
                toldSlow = true;
            }
            notifier.extendTimeout(EXTENSION, "starting, " + seconds + " s: " + phase);
        } catch (RuntimeException e) {
            // an exception escaping a scheduled task would cancel it: a slow start would then be killed
            Logger.error(e, "start extension failed");
        }
    }

    /**
     * The start is over (READY=1 next, or the process ends): no more extensions. Waits for a look under way, not
     * interrupting it, so that its message reaches systemd before READY=1, not after.
     */
    @Override
    public void close() {
        if (timer == null) {
            return;
        }
        timer.shutdown();
        try {
            if (!timer.awaitTermination(10, TimeUnit.SECONDS)) {
                timer.shutdownNow();
            }
        } catch (InterruptedException e) {
            timer.shutdownNow();
            Thread.currentThread().interrupt();
        }
    }

    /** The process's CPU time (all threads, user and system), as the kernel counts it. */
    private static long processCpuNanos() {
        return ProcessHandle.current().info().totalCpuDuration().map(Duration::toNanos).orElse(CPU_UNKNOWN);
    }
}
