package app.sevenstamp.autopilot.gateway.scan;

import app.sevenstamp.autopilot.protocol.support.NamedThreads;
import java.time.Duration;
import java.util.Objects;
import java.util.function.Function;
import org.tinylog.Logger;

/**
 * {@code scanner.type=auto} when no scanner was plugged in at start: looks again every
 * {@code retryEvery} and, once exactly one candidate is there, hands over to the serial or keyboard source
 * for it (which then handles unplugging by itself, by that device's stable name). Several candidates are
 * logged once with their names and never guessed between.
 *
 * <p>Threading: one daemon thread ({@code scanner-detect}) looks; it ends once the delegate runs.
 * The delegate is created and started under a small lock that {@link #close()} also takes, so a close
 * racing a detection never leaves a started delegate behind; nothing blocking runs under it.
 */
public final class DetectingScanSource implements ScanSource {
    private final ScannerDetector detector;
    private final Function<ScannerDetector.Detection.Found, ScanSource> create;
    private final ScannerState state;
    private final Duration retryEvery;
    private final Object lock = new Object();
    private boolean closed;
    private ScanSource delegate;
    private Thread thread;

    public DetectingScanSource(ScannerDetector detector, Function<ScannerDetector.Detection.Found, ScanSource> create,
            ScannerState state, Duration retryEvery) {
        this.detector = Objects.requireNonNull(detector, "detector");
        this.create = Objects.requireNonNull(create, "create");
        this.state = Objects.requireNonNull(state, "state");
        this.retryEvery = Objects.requireNonNull(retryEvery, "retryEvery");
    }

    @Override
    public void start() {
        thread = NamedThreads.daemon("scanner-detect").newThread(this::run);
        thread.start();
    }

    private void run() {
        String lastReport = null;
        while (true) {
            ScannerDetector.Detection detection = detector.detect();
            if (detection instanceof ScannerDetector.Detection.Found found) {
                Logger.info("scanner.type=auto: using {} {}: {}", found.kind().name().toLowerCase(java.util.Locale.ROOT),
                        found.device(), found.reason());
                synchronized (lock) {
                    if (closed) {
                        return;
                    }
                    delegate = create.apply(found);
                    delegate.start();
                }
                return;
            }
            String report = detection instanceof ScannerDetector.Detection.Several several ? several.message()
                    : ((ScannerDetector.Detection.None) detection).message();
            if (!report.equals(lastReport)) {
                Logger.warn("{}; looking again every {} ms", report, retryEvery.toMillis());
                state.searching(report);
                lastReport = report;
            }
            synchronized (lock) {
                if (closed) {
                    return;
                }
                try {
                    lock.wait(retryEvery.toMillis());
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    return;
                }
                if (closed) {
                    return;
                }
            }
        }
    }

    @Override
    public String describe() {
        ScanSource d;
        synchronized (lock) {
            d = delegate;
        }
        return d == null ? detector.describe() + ", nothing chosen yet" : d.describe() + " (auto)";
    }

    @Override
    public void close() {
        ScanSource d;
        synchronized (lock) {
            closed = true;
            lock.notifyAll();
            d = delegate;
        }
        if (d != null) {
            d.close();
        }
        Thread t = thread;
        if (t != null) {
            try {
                t.join(500);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }
}
