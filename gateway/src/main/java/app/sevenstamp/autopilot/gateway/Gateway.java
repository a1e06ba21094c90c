package app.sevenstamp.autopilot.gateway;

import app.sevenstamp.autopilot.gateway.config.ScannerSettings;
import app.sevenstamp.autopilot.gateway.config.GatewayConfig;
import app.sevenstamp.autopilot.gateway.config.GatewayKeys;
import app.sevenstamp.autopilot.gateway.config.ScannerSettings.ScannerType;
import app.sevenstamp.autopilot.gateway.feedback.ConsoleFeedback;
import app.sevenstamp.autopilot.gateway.feedback.Feedback;
import app.sevenstamp.autopilot.gateway.feedback.Feedbacks;
import app.sevenstamp.autopilot.gateway.feedback.Signal;
import app.sevenstamp.autopilot.gateway.config.UpdateSettings;
import app.sevenstamp.autopilot.gateway.update.Updater;
import app.sevenstamp.autopilot.gateway.fleet.CounterRulesAgent;
import app.sevenstamp.autopilot.gateway.fleet.FleetAgent;
import app.sevenstamp.autopilot.gateway.fleet.LiveCards;
import app.sevenstamp.autopilot.gateway.outbox.Outbox;
import app.sevenstamp.autopilot.gateway.outbox.OutboxException;
import app.sevenstamp.autopilot.gateway.policy.CounterGuard;
import app.sevenstamp.autopilot.gateway.scan.Debouncer;
import app.sevenstamp.autopilot.gateway.scan.DetectingScanSource;
import app.sevenstamp.autopilot.gateway.scan.DevicePath;
import app.sevenstamp.autopilot.gateway.scan.Frame;
import app.sevenstamp.autopilot.gateway.scan.Framer;
import app.sevenstamp.autopilot.gateway.scan.HidDecoder;
import app.sevenstamp.autopilot.gateway.scan.HidScanSource;
import app.sevenstamp.autopilot.gateway.scan.ScanSource;
import app.sevenstamp.autopilot.gateway.scan.ScannerDetector;
import app.sevenstamp.autopilot.gateway.scan.ScannerListener;
import app.sevenstamp.autopilot.gateway.scan.ScannerState;
import app.sevenstamp.autopilot.gateway.scan.SerialScanSource;
import app.sevenstamp.autopilot.gateway.scan.StdinScanSource;
import app.sevenstamp.autopilot.gateway.support.HostFacts;
import app.sevenstamp.autopilot.gateway.support.Ticker;
import app.sevenstamp.autopilot.protocol.support.HealthCheck;
import app.sevenstamp.autopilot.gateway.scan.Terminator;
import app.sevenstamp.autopilot.gateway.uplink.Uplink;
import app.sevenstamp.autopilot.gateway.voucher.VoucherDesk;
import app.sevenstamp.autopilot.protocol.Topics;
import app.sevenstamp.autopilot.protocol.card.BcSignatureCheck;
import app.sevenstamp.autopilot.protocol.support.NamedThreads;
import java.io.InputStream;
import java.io.PrintStream;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.ThreadLocalRandom;
import java.util.function.BooleanSupplier;
import java.util.function.Consumer;
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
    private static final Duration HEALTH_WAIT = Duration.ofSeconds(5);
    /**
     * A compaction of 100,000 waiting rows takes 1-2 s on a quiet machine (12 s seen on a loaded one); one
     * that has not ended in two minutes will not: the restart reopens H2 and replays the redo log.
     */
    private static final Duration OUTBOX_AWAY_LIMIT = Duration.ofMinutes(2);
    /** How often a lost scanner is looked for again: with the 0.5 s read timeout, back within 2 s of a replug. */
    private static final Duration SCANNER_RETRY = Duration.ofSeconds(1);

    private final Feedback feedback;
    private final Outbox outbox;
    private final Uplink uplink;
    private final StampPipeline pipeline;
    private final ScanSource scanner;
    private FleetAgent fleet;
    private CounterRulesAgent rules;
    private VoucherDesk vouchers;
    private Updater updater;
    private final ScannerState scannerState;
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

    private Gateway(Feedback feedback, Outbox outbox, Uplink uplink, StampPipeline pipeline, ScanSource scanner,
            ScannerState scannerState) {
        this.scannerState = scannerState;
        this.feedback = feedback;
        this.outbox = outbox;
        this.uplink = uplink;
        this.pipeline = pipeline;
        this.scanner = scanner;
    }

    public static Gateway start(GatewayConfig config, Environment env) throws OutboxException {
        return start(config, env, Duration.ofSeconds(60), "dev", () -> { });
    }

    /**
     * @param heartbeat how often the fleet status is refreshed
     * @param restart   what the fleet's restart command does (GatewayMain exits for systemd to restart it)
     */
    public static Gateway start(GatewayConfig config, Environment env, Duration heartbeat, String version,
            Runnable restart) throws OutboxException {
        return start(config, env, heartbeat, version, restart, UpdateSettings.OFF);
    }

    /** @param updates the {@code update.*} keys of the configuration file (docs/updates.md) */
    public static Gateway start(GatewayConfig config, Environment env, Duration heartbeat, String version,
            Runnable restart, UpdateSettings updates) throws OutboxException {
        // the card check's tables, built while the outbox opens instead of at the first customer's scan
        NamedThreads.daemon("card-check-warmup").newThread(BcSignatureCheck::warmUp).start();
        ConsoleFeedback console = new ConsoleFeedback(env.stdout(), env.terminal());
        Feedback feedback = Feedbacks.create(config.feedback(), env.ticker(), console);
        feedback.selfTest();
        Outbox outbox;
        long opening = env.ticker().nanoTime();
        try {
            outbox = Outbox.open(config.outboxDir(), env.clock(), env.ticker(), config.outboxLimits());
        } catch (OutboxException e) {
            feedback.close();
            throw e;
        }
        // a box back from an outage starts slower the more it kept: the operator sees why here
        Logger.info("outbox opened with {} stamps waiting in {} ms", outbox.status().backlog(),
                (env.ticker().nanoTime() - opening) / 1_000_000);
        outbox.salvageReport().ifPresent(r -> feedback.signal(Signal.STORAGE_FAULT, "reason=OUTBOX_CORRUPT movedTo="
                + r.movedTo() + " salvaged=" + r.salvaged()));
        Uplink uplink = new Uplink(config.mqtt(), config.deviceId(), outbox, feedback, env.ticker(), env.bootId(),
                ACK_TIMEOUT, () -> ThreadLocalRandom.current().nextDouble(), env.clock(), env.clockSynced());
        StampFactory factory = new StampFactory(config.deviceId(), config.location(), env.clock(), env.ticker(),
                env.bootId(), env.clockSynced());
        Topics topics = new Topics(config.mqtt().topicPrefix());
        // counter rules: the stored set and this counter's recent stamps, before the first scan
        LiveCards cards = new LiveCards(config.cards());
        CounterGuard guard = new CounterGuard();
        CounterRulesAgent rules = new CounterRulesAgent(topics, config.outboxDir(), r -> {
            guard.rules(r);
            outbox.historyRetention(guard.horizon());
        });
        rules.loadStored();
        loadCounterHistory(outbox, guard, env.clock());
        // vouchers are redeemed online, never stored: the desk subscribes to the answers before the uplink starts;
        // only its unconfirmed requests are journalled (in the state dir), so that their CANCEL survives a restart
        VoucherDesk vouchers = new VoucherDesk(uplink.link(), topics, config.deviceId(),
                config.location(), feedback, env.clock(), env.ticker(), config.vouchers().answerTimeout(), config.outboxDir());
        vouchers.attach();
        StampPipeline pipeline = new StampPipeline(cards, guard, factory, outbox, feedback,
                uplink::isConnected, uplink::wake, SCAN_QUEUE, STORE_TIMEOUT, vouchers::scan, env.ticker());
        ScannerState scannerState = new ScannerState("starting");
        ScanSource scanner = scanSource(config, env, pipeline, feedback, scannerState);
        // the status reports the scanner's phase (ready, searching, lost) with its device and losses
        FleetAgent fleet = new FleetAgent(config.deviceId(), topics, uplink.link(), uplink::wake, outbox,
                feedback, config.outboxDir(), env.clock(), version, heartbeat, () -> describe(scannerState.get()),
                restart);
        // the keys GatewayKeys marks LIVE (fleet.heartbeat is the fleet agent's own)
        for (String key : List.of(GatewayKeys.CARDS_PROGRAMS.name(), GatewayKeys.CARDS_TRUSTED_KEYS.name())) {
            fleet.hotKey(key, v -> cards.apply(key, v));
        }
        fleet.reportCounterState(rules::version, vouchers::cancelsWaiting);
        fleet.reportDroppedScans(pipeline::dropped);
        Updater updater = new Updater(config.deviceId(), updates, config.outboxDir(), fleet::publishStatusNow);
        fleet.updates(updater);
        rules.onApplied(fleet::publishStatusNow);
        fleet.attach();
        rules.attach(uplink.link());

        uplink.start();
        pipeline.start();
        scanner.start();
        Gateway gateway = new Gateway(feedback, outbox, uplink, pipeline, scanner, scannerState);
        gateway.fleet = fleet;
        gateway.rules = rules;
        gateway.vouchers = vouchers;
        gateway.updater = updater;
        return gateway;
    }

    /** The counter guard's memory: what counter_history holds (it outlives the outbox rows, deleted on ack). */
    private static void loadCounterHistory(Outbox outbox, CounterGuard guard, Clock clock) {
        try {
            var stamps = outbox.counterHistory(clock.instant().minus(CounterGuard.MAX_COOLDOWN))
                    .get(STORE_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
            stamps.forEach(s -> guard.load(s.programId(), s.cardId(), s.at()));
            Logger.info("counter rules: {} stamp(s) of {} card(s) remembered at this counter", stamps.size(),
                    guard.cardsRemembered());
        } catch (ExecutionException | TimeoutException e) {
            // fail open: without the memory the box only refuses less; the sink still judges every stamp
            Logger.warn("counter history not read ({}); cooldown and daily cap start from nothing", e.toString());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** The counter rules' receiver: version in force, refused messages. */
    public CounterRulesAgent counterRules() {
        return rules;
    }

    /** The box's updater: how many manifests it refused. */
    public Updater updater() {
        return updater;
    }

    /** Fleet management: what the last desired config applied live and what waits for a restart. */
    public FleetAgent fleet() {
        return fleet;
    }

    /**
     * The scanner, whatever its kind, feeds the same chain: framing (in the source), removal of prefix,
     * AIM identifier and suffix, debounce of double reads, then the pipeline's bounded queue.
     */
    private static ScanSource scanSource(GatewayConfig config, Environment env, StampPipeline pipeline,
            Feedback feedback, ScannerState state) {
        ScannerSettings s = config.scanner();
        if (s.type() == ScannerType.STDIN) {
            // no debounce: a person typing or a pipe replaying scans means every line, repeats included
            state.ready("stdin");
            return new StdinScanSource(env.stdin(), new Framer(s.terminator(), s.maxLength(), s.charset().charset(), true),
                    s.affixes().apply(pipeline::accept));
        }
        Consumer<Frame> frames = s.affixes().apply(new Debouncer(s.debounce(), env.ticker(), pipeline::accept));
        ScannerListener listener = new ScannerListener() {
            @Override
            public void scannerLost(String reason) {
                state.lost(reason);
                feedback.signal(Signal.SCANNER_LOST, "scanner=" + state.get().device() + " " + reason);
            }

            @Override
            public void scannerReady(String device) {
                state.ready(device); // the source logs it; the next scan's feedback tells the counter
            }
        };
        if (s.autoReason() != null) {
            if (s.type() == ScannerType.AUTO) {
                Logger.warn("{}; the gateway runs and keeps looking", s.autoReason());
            } else {
                Logger.info("{}", s.autoReason());
            }
        }
        return switch (s.type()) {
            case SERIAL -> serial(s, DevicePath.of(s.port()), frames, listener);
            case HID -> hid(s, DevicePath.of(s.port()), frames, listener);
            case AUTO -> new DetectingScanSource(new ScannerDetector(s.serialByIdDir(), s.inputByIdDir()),
                    found -> found.kind() == ScannerDetector.Kind.SERIAL
                            ? serial(s, DevicePath.of(found.device().toString()), frames, listener)
                            : hid(s, DevicePath.of(found.device().toString()), frames, listener),
                    state, SCANNER_RETRY);
            case STDIN -> throw new IllegalStateException("handled above");
        };
    }

    private static ScanSource serial(ScannerSettings s, DevicePath port, Consumer<Frame> frames,
            ScannerListener listener) {
        return new SerialScanSource(port, s.baud(), s.terminator() == Terminator.NONE ? s.interCharTimeout() : null,
                new Framer(s.terminator(), s.maxLength(), s.charset().charset(), false), frames, listener, SCANNER_RETRY);
    }

    private static ScanSource hid(ScannerSettings s, DevicePath device, Consumer<Frame> frames,
            ScannerListener listener) {
        return new HidScanSource(device, new HidDecoder(s.eventSize(), s.layout(), s.maxLength()), s.grab(), frames,
                listener, SCANNER_RETRY);
    }

    /** The scanner's state right now; thread-safe, for the status message. */
    private static String describe(ScannerState.Snapshot s) {
        String phase = s.phase().name().toLowerCase(java.util.Locale.ROOT);
        return phase + (s.device() == null ? "" : " " + s.device()) + (s.losses() == 0 ? "" : " losses=" + s.losses());
    }

    public ScannerState.Snapshot scannerState() {
        return scannerState.get();
    }

    public String describeScanner() {
        return scanner.describe();
    }

    /**
     * The watchdog's probes: the pipeline thread alive and no scan stuck, the outbox thread answering
     * a ping within {@link #HEALTH_WAIT} and its H2 not away (compacting) for longer than {@link
     * #OUTBOX_AWAY_LIMIT}, the uplink thread alive. Being offline is not
     * unhealthy: the outbox keeps the stamps, and a restart would not bring the network back.
     */
    public HealthCheck healthCheck() {
        return new HealthCheck(List.of(
                new HealthCheck.Probe("pipeline", () -> pipeline.healthProblem(STORE_TIMEOUT.plus(HEALTH_WAIT))),
                new HealthCheck.Probe("outbox", this::outboxProblem),
                new HealthCheck.Probe("uplink", () -> uplink.running() ? null : "the uplink thread has ended")));
    }

    private String outboxProblem() {
        try {
            Duration away = outbox.ping().get(HEALTH_WAIT.toMillis(), TimeUnit.MILLISECONDS);
            if (away.compareTo(OUTBOX_AWAY_LIMIT) > 0) {
                return "the outbox's H2 has been away (a compaction or a log rewrite) for " + away.toSeconds()
                        + " s: scans are stored, nothing is sent";
            }
            return null;
        } catch (TimeoutException e) {
            return "the outbox thread did not answer a ping within " + HEALTH_WAIT.toMillis() + " ms";
        } catch (ExecutionException e) {
            return "the outbox did not answer a ping: " + e.getCause();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return null;
        }
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
        step("vouchers", () -> vouchers.close(Duration.ofMillis(200)));
        step("fleet", () -> fleet.goodbye(Duration.ofMillis(300)));
        step("updater", updater::close);
        step("uplink", () -> uplink.close(Duration.ofMillis(1200)));
        step("rules", rules::close);
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
