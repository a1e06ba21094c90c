package app.sevenstamp.autopilot.gateway.fleet;

import app.sevenstamp.autopilot.gateway.policy.CounterGuard;
import app.sevenstamp.autopilot.gateway.uplink.Link;
import app.sevenstamp.autopilot.protocol.CounterRules;
import app.sevenstamp.autopilot.protocol.MalformedMessageException;
import app.sevenstamp.autopilot.protocol.Topics;
import app.sevenstamp.autopilot.protocol.WireCodec;
import app.sevenstamp.autopilot.protocol.support.NamedThreads;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.Objects;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;
import org.tinylog.Logger;

/**
 * Keeps the sink's counter rules (retained on {@code PREFIX/rules}): validates each message, keeps only a
 * version newer than the one in force, stores it in the state directory ({@value StateFiles#RULES}, so a
 * box that restarts while offline still has it) and applies it at once through {@code apply}. A malformed
 * or invalid message is logged, counted and ignored: the rules in force stay.
 *
 * <p>Threads: Paho's thread only hands the payload to the single "rules" thread (bounded queue), which
 * does the file write and the swap; the scan path never waits for it.
 */
public final class CounterRulesAgent implements AutoCloseable {
    private final Topics topics;
    private final Path stateDir;
    private final Consumer<CounterRules> apply;
    private final WireCodec codec = new WireCodec();
    private final ThreadPoolExecutor worker;
    private final AtomicLong refused = new AtomicLong();
    private volatile long version;
    private volatile Runnable applied;

    /** @param apply swaps the rules in (the counter guard and the outbox's history retention); must not block */
    public CounterRulesAgent(Topics topics, Path stateDir, Consumer<CounterRules> apply) {
        this.topics = Objects.requireNonNull(topics, "topics");
        this.stateDir = Objects.requireNonNull(stateDir, "stateDir");
        this.apply = Objects.requireNonNull(apply, "apply");
        this.worker = new ThreadPoolExecutor(1, 1, 0, TimeUnit.SECONDS, new ArrayBlockingQueue<>(16),
                NamedThreads.daemon("rules"), (task, pool) -> {
                    refused.incrementAndGet();
                    Logger.warn("counter rules: queue full, a message was dropped");
                });
    }

    /** At start, before the pipeline runs: the stored rules, if any and still valid. */
    public void loadStored() {
        byte[] stored;
        try {
            stored = StateFiles.readBytes(stateDir, StateFiles.RULES).orElse(null);
        } catch (UncheckedIOException e) {
            Logger.warn("counter rules: {}; the box runs without them until the sink's arrive", e.getMessage());
            return;
        }
        if (stored == null) {
            Logger.info("counter rules: none stored yet; no cooldown or daily cap at this counter until the sink's arrive");
            return;
        }
        try {
            CounterRules r = decode(stored);
            apply.accept(r);
            version = r.version();
            Logger.info("counter rules version {} loaded from {}: {}", r.version(), stateDir.resolve(StateFiles.RULES),
                    describe(r));
        } catch (MalformedMessageException | IllegalArgumentException e) {
            refused.incrementAndGet();
            Logger.warn("counter rules in {} are unusable ({}); waiting for the sink's", stateDir.resolve(StateFiles.RULES),
                    e.getMessage());
        }
    }

    /** Registers with the link: call before the uplink starts. */
    public void attach(Link link) {
        link.subscribe(topics.rules(), payload -> worker.execute(() -> offer(payload)));
    }

    /** The version in force; 0 for none. */
    public long version() {
        return version;
    }

    /** Messages refused (malformed, invalid, unusable when stored, dropped). */
    public long refused() {
        return refused.get();
    }

    /** One message from the broker; on the rules thread (tests call it directly). */
    void offer(byte[] payload) {
        if (payload.length == 0) {
            return; // the retained rules were cleared: keep what we have
        }
        CounterRules r;
        try {
            r = decode(payload);
        } catch (MalformedMessageException | IllegalArgumentException e) {
            long n = refused.incrementAndGet();
            Logger.warn("ignoring malformed counter rules ({} refused so far); version {} stays in force: {}", n, version,
                    e.getMessage());
            return;
        }
        if (r.version() <= version) {
            Logger.debug("counter rules version {} is not newer than {}; ignored", r.version(), version);
            return;
        }
        try {
            StateFiles.writeBytes(stateDir, StateFiles.RULES, payload);
        } catch (UncheckedIOException e) {
            // applied anyway: the rules are right for now; only a restart while offline would lose them
            Logger.warn("counter rules version {} not stored: {}", r.version(), e.getMessage());
        }
        apply.accept(r);
        version = r.version();
        Logger.info("counter rules version {} applied: {}", r.version(), describe(r));
        Runnable then = applied;
        if (then != null) {
            then.run();
        }
    }

    /**
     * Runs {@code then} on the rules thread after each newly applied version (not for the stored one loaded
     * at start); it must not block. The gateway publishes its status then, so the sink sees the version at once.
     */
    public void onApplied(Runnable then) {
        this.applied = Objects.requireNonNull(then, "then");
    }

    private CounterRules decode(byte[] payload) throws MalformedMessageException {
        CounterRules r = codec.decode(payload, CounterRules.class);
        CounterGuard.validate(r);
        return r;
    }

    private static String describe(CounterRules r) {
        if (r.programs().isEmpty()) {
            return "no limits";
        }
        StringBuilder b = new StringBuilder();
        new java.util.TreeMap<>(r.programs()).forEach((p, l) -> b.append(b.length() == 0 ? "" : ", ").append(p)
                .append(" cooldown=").append(l.cooldownSeconds()).append("s dailyCap=").append(l.dailyCap())
                .append(" zone=").append(l.timeZone()));
        return b.toString();
    }

    @Override
    public void close() {
        worker.shutdownNow();
    }
}
