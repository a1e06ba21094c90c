package app.sevenstamp.autopilot.protocol.support;

import java.util.concurrent.ThreadFactory;
import java.util.concurrent.atomic.AtomicInteger;
import org.tinylog.Logger;

/**
 * Every thread of both programs comes from here, so a thread dump names its owner, and an
 * exception that escapes a thread is logged instead of vanishing.
 */
public final class NamedThreads implements ThreadFactory {
    private final String name;
    private final boolean daemon;
    private final AtomicInteger count = new AtomicInteger();

    private NamedThreads(String name, boolean daemon) {
        this.name = name;
        this.daemon = daemon;
    }

    /** Threads named {@code name}, {@code name-2}, ... that keep the JVM alive. */
    public static NamedThreads of(String name) {
        return new NamedThreads(name, false);
    }

    /** Threads that do not keep the JVM alive (readers blocked on a device, for example). */
    public static NamedThreads daemon(String name) {
        return new NamedThreads(name, true);
    }

    @Override
    public Thread newThread(Runnable task) {
        int n = count.incrementAndGet();
        Thread thread = new Thread(task, n == 1 ? name : name + "-" + n);
        thread.setDaemon(daemon);
        thread.setUncaughtExceptionHandler((t, e) -> Logger.error(e, "thread {} died", t.getName()));
        return thread;
    }
}
