package app.sevenstamp.autopilot.sink.fleet;

import app.sevenstamp.autopilot.protocol.CounterRules;
import app.sevenstamp.autopilot.protocol.Topics;
import app.sevenstamp.autopilot.protocol.WireCodec;
import java.time.Clock;
import java.time.Duration;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executor;
import java.util.function.BooleanSupplier;
import java.util.function.LongFunction;
import java.util.function.LongSupplier;
import java.util.function.Predicate;
import org.tinylog.Logger;

/**
 * Keeps the counter rules retained on {@code PREFIX/rules} for every box: published when they change and again
 * on every (re)connect (a broker restarted without its retained store gets them back), and numbered past a
 * version a box reports holding (the database was restored from before a change).
 *
 * <p>Threads: {@link #publish} and {@link #version} on any thread; the publishing and the catch-up run on the
 * fleet thread, which alone touches the catch-up's timing fields.
 */
final class RulesPublisher {
    /** How far ahead of this sink's clock a box's rules version may be and still be believed. */
    static final Duration RULES_SKEW = Duration.ofDays(1);
    /**
     * At most one look at a box ahead per this time: each renumbering rewrites the rules file on every box, so a
     * broken or hostile box reporting ever higher versions costs the fleet at most six rewrites an hour.
     */
    static final Duration CATCH_UP_EVERY = Duration.ofMinutes(10);

    private final Topics topics;
    private final FleetPublisher publisher;
    private final Clock clock;
    private final Executor fleetThread;
    /** Whether a publish can go out now (ready, and with dynamic security the sink's publish right exists). */
    private final BooleanSupplier canPublish;
    private final Predicate<String> admits;
    private final WireCodec codec = new WireCodec();
    /** The counter rules to keep retained; null until {@link #publish}. */
    private volatile CounterRules rules;
    /** Numbers the rules past a version a box holds, if the database agrees; null: boxes ahead are ignored. */
    private volatile LongFunction<Optional<CounterRules>> renumber;
    private final LongSupplier nanoTime;
    /** When this sink last looked at a box ahead ({@link #nanoTime}), so that one box cannot drive the fleet. */
    private long lastCatchUpNanos;
    private boolean caughtUpOnce;
    /** Devices already warned about a rules version in the future, so a bad box logs once. */
    private final Set<String> warnedFuture = ConcurrentHashMap.newKeySet();

    RulesPublisher(Topics topics, FleetPublisher publisher, Clock clock, Executor fleetThread, BooleanSupplier canPublish,
            Predicate<String> admits, LongSupplier nanoTime) {
        this.topics = topics;
        this.nanoTime = nanoTime;
        this.publisher = publisher;
        this.clock = clock;
        this.fleetThread = fleetThread;
        this.canPublish = canPublish;
        this.admits = admits;
    }

    /** 0 before {@link #publish}. */
    long version() {
        CounterRules r = rules;
        return r == null ? 0 : r.version();
    }

    void renumberWith(LongFunction<Optional<CounterRules>> renumber) {
        this.renumber = Objects.requireNonNull(renumber, "renumber");
    }

    /** Keeps {@code r} retained: now if the fleet connection is ready, and again on every (re)connect. */
    void publish(CounterRules r) {
        rules = Objects.requireNonNull(r, "rules");
        fleetThread.execute(this::publishNow);
    }

    /** On the fleet thread. */
    void publishNow() {
        CounterRules r = rules;
        if (r == null || !canPublish.getAsBoolean()) {
            return;
        }
        try {
            publisher.publish(topics.rules(), codec.encode(r), true);
            Logger.info("fleet: counter rules version {} published (retained) for {} program(s)", r.version(),
                    r.programs().size());
        } catch (RuntimeException e) {
            Logger.warn("fleet: counter rules not published now ({}); again at the next connect", e.getMessage());
        }
    }

    /**
     * A box holding newer counter rules than published ignores ours: number them past its version. Only for a
     * device this sink admits, not further than a day ahead of the sink's clock, and at most once per
     * {@link #CATCH_UP_EVERY}; the database decides (in {@code renumber}) whether there is anything to do, so
     * several sinks on one database number past a box once between them. Fleet thread only.
     */
    void boxHolds(String deviceId, long held) {
        CounterRules published = rules;
        LongFunction<Optional<CounterRules>> next = renumber;
        if (published == null || next == null || held <= published.version() || !admits.test(deviceId)) {
            return;
        }
        // versions are wall-clock seconds: one far in the future is a broken or hostile box, not a newer sink
        if (held > clock.instant().plus(RULES_SKEW).getEpochSecond()) {
            if (warnedFuture.add(deviceId)) {
                Logger.warn("fleet: {} reports counter rules version {}, beyond this sink's clock; not followed. Clear "
                        + "counter-rules.json on that box", deviceId, held);
            }
            return;
        }
        long now = nanoTime.getAsLong();
        if (caughtUpOnce && now - lastCatchUpNanos < CATCH_UP_EVERY.toNanos()) {
            return;
        }
        caughtUpOnce = true;
        lastCatchUpNanos = now;
        Optional<CounterRules> current = next.apply(held);
        if (current.isPresent() && current.get().version() > published.version()) {
            Logger.warn("fleet: {} held counter rules version {}, newer than the published {}; publishing version {}",
                    deviceId, held, published.version(), current.get().version());
            publish(current.get());
        }
    }
}
