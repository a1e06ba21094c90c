package app.sevenstamp.autopilot.gateway.feedback;

import app.sevenstamp.autopilot.gateway.support.Ticker;
import app.sevenstamp.autopilot.gateway.config.FeedbackSettings.FeedbackPin;
import com.pi4j.io.gpio.digital.DigitalStateChangeListener;
import java.util.Arrays;
import java.util.Locale;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;

/**
 * How long from {@link Feedback#signal} (what the pipeline calls right after the durable commit) to the first
 * output change, on Pi4J's mock pins: the hand-over to the feedback thread, its wake-up and the write. The
 * budget is 10 ms; this measures, it does not assert.
 *
 * <p>Run: {@code java -cp <gateway test classpath> app.sevenstamp.autopilot.gateway.feedback.FeedbackLatencyBench [samples]}
 * (scripts/bench can call it). It prints one line: {@code feedback-latency samples=N p50=..us p99=..us max=..us}.
 */
public final class FeedbackLatencyBench {
    private static final int WARMUP = 200;

    /** Latencies in microseconds, sorted. */
    public record Result(long[] micros) {
        public long percentile(double p) {
            int i = (int) Math.ceil(p / 100.0 * micros.length) - 1;
            return micros[Math.max(0, Math.min(micros.length - 1, i))];
        }

        public long max() {
            return micros[micros.length - 1];
        }

        public String line() {
            return String.format(Locale.ROOT, "feedback-latency samples=%d p50=%dus p99=%dus max=%dus", micros.length,
                    percentile(50), percentile(99), max());
        }
    }

    private FeedbackLatencyBench() {
    }

    /**
     * Alternates ACCEPTED (green on) and REJECTED (red on), each preempting the last, and times each signal to
     * the first pin change it causes.
     */
    public static Result measure(int samples) throws InterruptedException {
        try (MockBox box = new MockBox(MockBox.PAIR_ACTIVE)) {
            GpioFeedback feedback = box.feedback(Ticker.SYSTEM);
            try {
                AtomicReference<CountDownLatch> changed = new AtomicReference<>(new CountDownLatch(1));
                AtomicLong changedAt = new AtomicLong();
                DigitalStateChangeListener listener = event -> {
                    CountDownLatch latch = changed.get();
                    if (latch.getCount() > 0) {
                        changedAt.set(System.nanoTime());
                        latch.countDown();
                    }
                };
                box.pin(FeedbackPin.GREEN).addListener(listener);
                box.pin(FeedbackPin.RED).addListener(listener);
                long[] micros = new long[samples];
                for (int i = -WARMUP; i < samples; i++) {
                    CountDownLatch latch = new CountDownLatch(1);
                    changed.set(latch);
                    long start = System.nanoTime();
                    feedback.signal(i % 2 == 0 ? Signal.ACCEPTED : Signal.REJECTED, "bench");
                    if (!latch.await(5, TimeUnit.SECONDS)) {
                        throw new IllegalStateException("no output changed within 5 s of signal " + i);
                    }
                    if (i >= 0) {
                        micros[i] = (changedAt.get() - start) / 1000;
                    }
                    // let the feedback thread go back to waiting, as between two real scans
                    Thread.sleep(2);
                }
                Arrays.sort(micros);
                return new Result(micros);
            } finally {
                feedback.close();
            }
        }
    }

    public static void main(String[] args) throws InterruptedException {
        int samples = args.length > 0 ? Integer.parseInt(args[0]) : 2000;
        System.out.println(measure(samples).line());
    }
}
