package app.sevenstamp.autopilot.gateway;

import app.sevenstamp.autopilot.gateway.config.GatewayConfig;
import app.sevenstamp.autopilot.gateway.config.GatewayConfig.ScannerType;
import app.sevenstamp.autopilot.gateway.feedback.ConsoleFeedback;
import app.sevenstamp.autopilot.gateway.feedback.Feedback;
import app.sevenstamp.autopilot.gateway.feedback.Feedbacks;
import app.sevenstamp.autopilot.gateway.feedback.Signal;
import app.sevenstamp.autopilot.gateway.outbox.Outbox;
import app.sevenstamp.autopilot.gateway.outbox.OutboxException;
import app.sevenstamp.autopilot.gateway.policy.ScanPolicy;
import app.sevenstamp.autopilot.gateway.scan.Framer;
import app.sevenstamp.autopilot.gateway.scan.ScanSource;
import app.sevenstamp.autopilot.gateway.scan.ScannerListener;
import app.sevenstamp.autopilot.gateway.scan.SerialScanSource;
import app.sevenstamp.autopilot.gateway.scan.StdinScanSource;
import app.sevenstamp.autopilot.gateway.uplink.Uplink;
import java.io.InputStream;
import java.io.PrintStream;
import java.time.Clock;
import java.time.Duration;
import java.util.Objects;
import java.util.concurrent.ThreadLocalRandom;
import java.util.function.BooleanSupplier;
import org.tinylog.Logger;

/**
 * The whole daemon, wired by hand in one place. {@link #start} builds the parts from the outside in
 * (feedback, outbox, uplink, pipeline, scanner: each part exists before anything can call it) and
 * {@link #close} stops them in reverse, each with a bounded wait, under five seconds in all.
 */
public final class Gateway implements AutoCloseable {
    private static final Duration STORE_TIMEOUT = Duration.ofSeconds(10);
    private static final Duration ACK_TIMEOUT = Duration.ofSeconds(30);
    private static final int SCAN_QUEUE = 64;

    private final Feedback feedback;
    private final Outbox outbox;
    private final Uplink uplink;
    private final StampPipeline pipeline;
    private final ScanSource scanner;
    private boolean closed;

    /**
     * What the gateway takes from the machine besides its configuration; tests pass their own.
     *
     * @param terminal    stdout is a person's terminal: colour and bell in console feedback
     * @param clockSynced whether the wall clock is synchronised right now
     */
    public record Environment(Clock clock, Ticker ticker, InputStream stdin, PrintStream stdout, boolean terminal,
            String bootId, BooleanSupplier clockSynced) {

        public Environment {
            Objects.requireNonNull(clock, "clock");
            Objects.requireNonNull(ticker, "ticker");
            Objects.requireNonNull(stdin, "stdin");
            Objects.requireNonNull(stdout, "stdout");
            Objects.requireNonNull(bootId, "bootId");
            Objects.requireNonNull(clockSynced, "clockSynced");
        }

        public static Environment system() {
            return new Environment(Clock.systemUTC(), Ticker.SYSTEM, System.in, System.out, System.console() != null,
                    HostFacts.bootId(), HostFacts.clockSynced());
        }
    }

    private Gateway(Feedback feedback, Outbox outbox, Uplink uplink, StampPipeline pipeline, ScanSource scanner) {
        this.feedback = feedback;
        this.outbox = outbox;
        this.uplink = uplink;
        this.pipeline = pipeline;
        this.scanner = scanner;
    }

    public static Gateway start(GatewayConfig config, Environment env) throws OutboxException {
        ConsoleFeedback console = new ConsoleFeedback(env.stdout(), env.terminal());
        Feedback feedback = Feedbacks.create(config.feedback(), env.ticker(), console);
        Outbox outbox;
        try {
            outbox = Outbox.open(config.outboxDir(), env.clock(), config.outboxLimits());
        } catch (OutboxException e) {
            feedback.close();
            throw e;
        }
        outbox.salvageReport().ifPresent(r -> feedback.signal(Signal.STORAGE_FAULT, "reason=OUTBOX_CORRUPT movedTo="
                + r.movedTo() + " salvaged=" + r.salvaged()));
        Uplink uplink = new Uplink(config.mqtt(), config.deviceId(), outbox, feedback, env.ticker(), env.bootId(),
                ACK_TIMEOUT, () -> ThreadLocalRandom.current().nextDouble(), env.clock(), env.clockSynced());
        StampFactory factory = new StampFactory(config.deviceId(), config.location(), env.clock(), env.ticker(),
                env.bootId(), env.clockSynced());
        StampPipeline pipeline = new StampPipeline(
                new ScanPolicy(config.cards().verifier(), config.cards().programs()), factory, outbox, feedback,
                uplink::isConnected, uplink::wake, SCAN_QUEUE, STORE_TIMEOUT);
        ScanSource scanner = scanSource(config, env, pipeline, feedback);

        uplink.start();
        pipeline.start();
        scanner.start();
        return new Gateway(feedback, outbox, uplink, pipeline, scanner);
    }

    private static ScanSource scanSource(GatewayConfig config, Environment env, StampPipeline pipeline,
            Feedback feedback) {
        GatewayConfig.ScannerSettings s = config.scanner();
        if (s.type() == ScannerType.STDIN) {
            return new StdinScanSource(env.stdin(), new Framer(s.terminator(), s.maxLength(), s.charset().charset(), true),
                    pipeline::accept);
        }
        ScannerListener listener = new ScannerListener() {
            @Override
            public void scannerLost(String reason) {
                feedback.signal(Signal.SCANNER_LOST, "scanner=" + s.port() + " " + reason);
            }

            @Override
            public void scannerReady() {
                // the source logs it; the next scan's feedback tells the counter
            }
        };
        return new SerialScanSource(s.port(), s.baud(),
                new Framer(s.terminator(), s.maxLength(), s.charset().charset(), false),
                pipeline::accept, listener, Duration.ofSeconds(1));
    }

    public String describeScanner() {
        return scanner.describe();
    }

    /** Whether the uplink is connected to the broker and subscribed. */
    public boolean online() {
        return uplink.isConnected();
    }

    /**
     * Stops in reverse order: no more scans, the scans already read are finished (each one stored
     * and signalled), the uplink disconnects without publishing anything more, the outbox shuts down
     * cleanly, and the outputs go off. Idempotent.
     */
    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        closed = true;
        // worst case 0.6 + 1.0 + 1.2 + 1.0 + 0.5 s: under the 5 s systemd and operators expect
        step("scanner", scanner::close);
        step("pipeline", () -> pipeline.close(Duration.ofMillis(1000)));
        step("uplink", () -> uplink.close(Duration.ofMillis(1200)));
        step("outbox", () -> outbox.close(Duration.ofMillis(1000)));
        step("feedback", feedback::close);
    }

    private static void step(String what, Runnable close) {
        try {
            close.run();
        } catch (RuntimeException e) {
            Logger.warn("closing the {} failed: {}", what, e.toString());
        }
    }
}
