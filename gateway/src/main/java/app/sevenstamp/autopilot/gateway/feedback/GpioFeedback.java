package app.sevenstamp.autopilot.gateway.feedback;

import app.sevenstamp.autopilot.gateway.support.Ticker;
import app.sevenstamp.autopilot.gateway.config.FeedbackSettings;
import app.sevenstamp.autopilot.protocol.support.NamedThreads;
import com.pi4j.Pi4J;
import com.pi4j.context.Context;
import com.pi4j.plugin.gpiod.provider.gpio.digital.GpioDDigitalOutputProvider;
import com.pi4j.plugin.linuxfs.provider.pwm.LinuxFsPwmProvider;
import java.util.Objects;
import java.util.concurrent.TimeUnit;
import org.tinylog.Logger;

/**
 * LED and buzzer feedback on the Pi's GPIO through Pi4J 2.
 *
 * <p>Threading: {@link #signal}, {@link #identify} and {@link #stopIdentify} only post a request and wake the
 * {@code feedback} thread, which owns the {@link PatternPlayer} and does every GPIO write. A newer signal
 * replaces a pattern that has not started and cuts off one that is playing. The lock guards only the
 * hand-over, never a GPIO write, so a scan thread never waits for the hardware.
 *
 * <p>Every output is off from the moment it is created, goes off at {@link #close}, and a JVM shutdown hook
 * closes it when the JVM exits without {@code close} (SIGTERM, SIGINT, {@code System.exit}, an uncaught
 * error). Nothing runs on SIGKILL or a power cut: the pins keep their last level until the next start sets
 * them off again (README, "Feedback").
 */
public final class GpioFeedback implements Feedback {
    private static final long CLOSE_WAIT_MS = 500;

    private enum Loop { START, STOP }

    private final Outputs outputs;
    private final PatternPlayer player;
    private final Ticker ticker;
    private final Runnable afterClose;
    private final Object lock = new Object();
    private final Thread thread;
    private final Thread hook;
    // guarded by lock
    private Pattern requested;
    private Loop loopRequest;
    private boolean closing;
    private boolean closed;

    private GpioFeedback(Outputs outputs, Ticker ticker, Runnable afterClose) {
        this.outputs = outputs;
        this.player = new PatternPlayer(outputs);
        this.ticker = Objects.requireNonNull(ticker, "ticker");
        this.afterClose = afterClose;
        this.thread = NamedThreads.daemon("feedback").newThread(this::run);
        this.hook = NamedThreads.of("feedback-off").newThread(this::close);
        thread.start();
        Runtime.getRuntime().addShutdownHook(hook);
    }

    /**
     * Opens the Pi's GPIO with the providers named explicitly, so Pi4J never picks another: gpiod for the
     * digital outputs (it finds the chip itself; the Pi 5 renumbered chips across kernels) and Linux sysfs
     * PWM on {@code pwmChip} for a passive buzzer.
     *
     * @throws RuntimeException or LinkageError when this is not a Pi or /dev/gpiochip* is not accessible
     */
    public static GpioFeedback openGpiod(FeedbackSettings settings, int pwmChip, Ticker ticker) {
        Context context = Pi4J.newContextBuilder()
                .noAutoDetect()
                .add(GpioDDigitalOutputProvider.newInstance())
                .add(LinuxFsPwmProvider.newInstance(pwmChip))
                .build();
        return open(context, GpioDDigitalOutputProvider.ID, LinuxFsPwmProvider.ID, settings, ticker);
    }

    /**
     * The feedback on {@code context}'s providers of the given ids (gpiod and sysfs PWM on a Pi, Pi4J's mock
     * providers in tests). It owns the context from here: closing the feedback shuts it down, and so does a
     * failure to claim the outputs.
     *
     * @param settings with the PWM channel resolved when the buzzer is passive
     */
    static GpioFeedback open(Context context, String digitalProviderId, String pwmProviderId,
            FeedbackSettings settings, Ticker ticker) {
        try {
            GpioOutputs outputs = new GpioOutputs(context, digitalProviderId, pwmProviderId, settings);
            return new GpioFeedback(outputs, ticker, context::shutdown);
        } catch (RuntimeException | LinkageError e) {
            context.shutdown();
            throw e;
        }
    }

    @Override
    public void signal(Signal signal, String details) {
        play(Patterns.forSignal(signal));
        Logger.debug("feedback {} {}", signal, details);
    }

    @Override
    public void selfTest() {
        play(Patterns.selfTest());
    }

    private void play(Pattern pattern) {
        synchronized (lock) {
            if (!closing) {
                requested = pattern;
                lock.notifyAll();
            }
        }
    }

    @Override
    public void identify() {
        requestLoop(Loop.START);
        Logger.info("identify: blinking for {} s or until stopped", Patterns.IDENTIFY_LIMIT.toSeconds());
    }

    @Override
    public void stopIdentify() {
        requestLoop(Loop.STOP);
    }

    private void requestLoop(Loop request) {
        synchronized (lock) {
            if (!closing) {
                loopRequest = request;
                lock.notifyAll();
            }
        }
    }

    private void run() {
        long due = PatternPlayer.IDLE;
        while (true) {
            Pattern next;
            Loop loop;
            synchronized (lock) {
                try {
                    while (requested == null && loopRequest == null && !closing) {
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
                loop = loopRequest;
                requested = null;
                loopRequest = null;
            }
            try {
                long now = ticker.nanoTime();
                if (next != null) {
                    player.start(next, now);
                }
                if (loop == Loop.START) {
                    player.loop(Patterns.identifyCycle(), Patterns.IDENTIFY_LIMIT, now);
                } else if (loop == Loop.STOP) {
                    player.stopLoop(now);
                }
                due = player.advance(now);
            } catch (RuntimeException e) {
                // one failed write must not end the feedback thread: the next signal tries again
                Logger.error("feedback output failed: {}", e.toString());
                due = PatternPlayer.IDLE;
            }
        }
    }

    /** Stops the thread, switches every output off and releases the GPIO. Idempotent; also the shutdown hook. */
    @Override
    public void close() {
        synchronized (lock) {
            if (closed) {
                return;
            }
            closed = true;
            closing = true;
            lock.notifyAll();
        }
        if (Thread.currentThread() != hook) {
            try {
                Runtime.getRuntime().removeShutdownHook(hook);
            } catch (IllegalStateException e) {
                // the JVM is already shutting down: the hook may run, and finds this closed
            }
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
