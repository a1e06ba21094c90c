package app.sevenstamp.autopilot.gateway.feedback;

import app.sevenstamp.autopilot.gateway.Ticker;
import app.sevenstamp.autopilot.gateway.config.GatewayConfig.FeedbackSettings;
import app.sevenstamp.autopilot.protocol.support.NamedThreads;
import com.pi4j.Pi4J;
import com.pi4j.context.Context;
import com.pi4j.plugin.gpiod.provider.gpio.digital.GpioDDigitalOutputProvider;
import java.util.Objects;
import java.util.concurrent.TimeUnit;
import org.tinylog.Logger;

/**
 * LED and buzzer feedback on the Pi's GPIO through Pi4J 2.
 *
 * <p>Threading: {@link #signal} only posts the pattern and wakes the {@code feedback} thread, which owns
 * the {@link PatternPlayer} and does all GPIO writes. A newer signal replaces a pattern that has not
 * started and cuts off one that is playing. The lock guards only the hand-over, never a GPIO write.
 */
public final class GpioFeedback implements Feedback {
    private static final long CLOSE_WAIT_MS = 500;
    private final Outputs outputs;
    private final PatternPlayer player;
    private final Ticker ticker;
    private final Runnable afterClose;
    private final Object lock = new Object();
    private final Thread thread;
    // guarded by lock
    private Pattern requested;
    private boolean closing;

    /** Uses {@code context} (owned by the caller) with the given digital output provider. */
    public GpioFeedback(Context context, String providerId, FeedbackSettings pins, Ticker ticker) {
        this(new GpioOutputs(context, providerId, pins.greenPin(), pins.redPin(), pins.buzzerPin(), pins.activeLow()),
                ticker, () -> { });
    }

    private GpioFeedback(Outputs outputs, Ticker ticker, Runnable afterClose) {
        this.outputs = outputs;
        this.player = new PatternPlayer(outputs);
        this.ticker = Objects.requireNonNull(ticker, "ticker");
        this.afterClose = afterClose;
        this.thread = NamedThreads.daemon("feedback").newThread(this::run);
        thread.start();
    }

    /**
     * Opens the Pi's GPIO through the gpiod provider, named explicitly so Pi4J never picks another.
     * gpiod finds the chip itself (the Pi 5 renumbered chips across kernels).
     *
     * @throws RuntimeException or LinkageError when this is not a Pi or /dev/gpiochip* is not accessible
     */
    public static GpioFeedback openGpiod(FeedbackSettings pins, Ticker ticker) {
        Context context = Pi4J.newContextBuilder()
                .noAutoDetect()
                .add(GpioDDigitalOutputProvider.newInstance())
                .build();
        try {
            GpioOutputs outputs = new GpioOutputs(context, GpioDDigitalOutputProvider.ID,
                    pins.greenPin(), pins.redPin(), pins.buzzerPin(), pins.activeLow());
            return new GpioFeedback(outputs, ticker, context::shutdown);
        } catch (RuntimeException | LinkageError e) {
            context.shutdown();
            throw e;
        }
    }

    @Override
    public void signal(Signal signal, String details) {
        Pattern pattern = Patterns.forSignal(signal);
        synchronized (lock) {
            if (closing) {
                return;
            }
            requested = pattern;
            lock.notifyAll();
        }
        Logger.debug("feedback {} {}", signal, details);
    }

    private void run() {
        long due = PatternPlayer.IDLE;
        while (true) {
            Pattern next;
            synchronized (lock) {
                try {
                    while (requested == null && !closing) {
                        if (due == PatternPlayer.IDLE) {
                            lock.wait();
                        } else {
                            long wait = due - ticker.nanoTime();
                            if (wait <= 0) {
                                break;
                            }
                            TimeUnit.NANOSECONDS.timedWait(lock, wait);
                        }
                    }
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    closing = true;
                }
                if (closing) {
                    break;
                }
                next = requested;
                requested = null;
            }
            try {
                long now = ticker.nanoTime();
                if (next != null) {
                    player.start(next, now);
                }
                due = player.advance(now);
            } catch (RuntimeException e) {
                Logger.error("feedback output failed: {}", e.toString());
                due = PatternPlayer.IDLE;
            }
        }
    }

    @Override
    public void close() {
        synchronized (lock) {
            closing = true;
            lock.notifyAll();
        }
        try {
            thread.join(CLOSE_WAIT_MS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        if (thread.isAlive()) {
            Logger.warn("feedback thread did not stop within {} ms; switching outputs off anyway", CLOSE_WAIT_MS);
        }
        outputs.close();
        try {
            afterClose.run();
        } catch (RuntimeException e) {
            Logger.warn("Pi4J shutdown failed: {}", e.toString());
        }
    }
}
