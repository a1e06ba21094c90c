package app.sevenstamp.autopilot.gateway.uplink;

import app.sevenstamp.autopilot.gateway.support.Ticker;
import app.sevenstamp.autopilot.gateway.config.MqttSettings;
import app.sevenstamp.autopilot.gateway.feedback.Feedback;
import app.sevenstamp.autopilot.gateway.feedback.Signal;
import app.sevenstamp.autopilot.gateway.outbox.Outbox;
import app.sevenstamp.autopilot.gateway.outbox.StoredEvent;
import app.sevenstamp.autopilot.protocol.AckOutcome;
import app.sevenstamp.autopilot.protocol.StampAck;
import app.sevenstamp.autopilot.protocol.Topics;
import app.sevenstamp.autopilot.protocol.support.Backoff;
import app.sevenstamp.autopilot.protocol.support.MqttTls;
import app.sevenstamp.autopilot.protocol.support.NamedThreads;
import app.sevenstamp.autopilot.protocol.support.NoDelaySockets;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Objects;
import java.util.OptionalLong;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.BooleanSupplier;
import java.util.function.DoubleSupplier;
import org.eclipse.paho.client.mqttv3.IMqttActionListener;
import org.eclipse.paho.client.mqttv3.IMqttToken;
import org.eclipse.paho.client.mqttv3.MqttAsyncClient;
import org.eclipse.paho.client.mqttv3.MqttConnectOptions;
import org.eclipse.paho.client.mqttv3.MqttException;
import org.eclipse.paho.client.mqttv3.persist.MemoryPersistence;
import org.tinylog.Logger;

/**
 * Sends the outbox to the sink over MQTT and deletes each event when the sink acknowledges it.
 *
 * <p>Delivery: QoS 1 from the outbox in sequence order, at most {@code mqtt.inflight} events waiting
 * for the sink's acknowledgement (a broker PUBACK only says the broker has it). After a reconnect,
 * or when no acknowledgement came for {@code ackTimeout}, every unacknowledged event is sent again; the
 * sink deduplicates on the event id, so delivery is at-least-once and the effect exactly-once. An
 * acknowledged event whose outbox delete fails is deleted again after a jittered, growing wait
 * ({@link UndeletedAcks}), connected or not, and is not sent again meanwhile.
 *
 * <p>Connection: Paho's automatic reconnect does not retry a failed first connect, so this class runs
 * its own loop, for the first connect too, with exponential backoff and full jitter between
 * {@code mqtt.reconnect.min} and {@code mqtt.reconnect.max}. An attempt that gets no answer at all
 * (a host that accepts TCP and never sends CONNACK, which Paho waits for forever) is given up after twice
 * the connection timeout and counts as a failed connect ({@link #connectWatchdog()}). {@code cleanSession=false} keeps the ack
 * subscription and the acks queued for us at the broker while we are away; Paho keeps nothing on
 * disk ({@link MemoryPersistence}): the outbox is the only store.
 *
 * <p>Threading: one thread ({@code uplink}) owns all state and makes every Paho call, and it is the
 * only caller of the outbox besides the pipeline. Paho's threads (its callback thread and the action
 * listeners) only post events to the uplink's queue: they never touch H2, never publish and never
 * wait. {@link #wake()} and {@link #isConnected()} are safe from any thread. No lock is held anywhere.
 */
public final class Uplink implements AutoCloseable {
    /** A reward chime makes sense only while the customer is still at the counter. */
    static final Duration REWARD_WINDOW = Duration.ofSeconds(1);
    static final Duration CONNECT_TIMEOUT = Duration.ofSeconds(10);
    private static final Duration OUTBOX_WAIT = Duration.ofSeconds(5);
    private static final Duration RETRY_READ = Duration.ofSeconds(1);
    private static final Duration CLOCK_POLL = Duration.ofSeconds(1);
    private static final int CORRECTION_BATCH = 500;
    /**
     * Retries of a failed delete: the outbox reopens a failed store at most once a second, and while it cannot
     * (a full disk) each retry costs one failed job, so a few seconds apart at most.
     */
    private static final Duration DELETE_RETRY_MIN = Duration.ofMillis(250);
    private static final Duration DELETE_RETRY_MAX = Duration.ofSeconds(5);

    private final MqttSettings settings;
    private final String deviceId;
    private final String stampsTopic;
    private final String acksTopic;
    private final Outbox outbox;
    private final Feedback feedback;
    private final Ticker ticker;
    private final String bootId;
    private final Duration ackTimeout;
    private final Duration connectTimeout;
    private final Backoff backoff;
    private final InflightWindow window;
    private final AckReceiver receiver;
    private final UndeletedAcks undeleted;
    private final LinkedBlockingQueue<Event> events = new LinkedBlockingQueue<>();
    private final AtomicBoolean wakePending = new AtomicBoolean();
    private final Thread thread;
    private final Clock clock;
    private final BooleanSupplier clockSynced;
    private volatile boolean ready;
    private volatile boolean closing;
    // fleet seam (gateway/fleet): extra subscriptions, a last will, publishes, a ready listener
    private final java.util.Map<String, java.util.function.Consumer<byte[]>> extraSubscriptions =
            new java.util.concurrent.ConcurrentHashMap<>();
    private volatile String willTopic;
    private volatile byte[] willPayload;
    private volatile Runnable onReady = () -> { };
    private volatile long published;
    /** The attempt whose connection is up, set on Paho's thread before it posts {@link Connected}. */
    private volatile int liveAttempt;

    // owned by the uplink thread
    private MqttAsyncClient client;
    private State state = State.DISCONNECTED;
    private long nextConnectAt;
    /** While {@link State#CONNECTING}: when the attempt is given up if Paho has not called back by then. */
    private long connectDeadline;
    private long nextReadAt;
    private int failedAttempts;
    private int attempt;
    /** The last outbox read returned less than asked: nothing more to send until a wake or a resend. */
    private boolean drained;
    /** Retry rounds of failed deletes since a delete last worked, for the log. */
    private int deleteRounds;
    /** {@link Outbox#unsyncedAppends()} as of the last complete clock correction. */
    private long correctedUpTo;

    private enum State { DISCONNECTED, CONNECTING, SUBSCRIBING, READY }

    /** What Paho's threads and the pipeline hand to the uplink thread. */
    sealed interface Event {
    }

    record Wake() implements Event {
    }

    /*
     * Connection events carry the number of the connect attempt they belong to: a late event of an
     * earlier attempt (a subscribe failure and a connection loss both reporting one drop) is ignored.
     */
    record Connected(int attempt) implements Event {
    }

    record ConnectFailed(int attempt, Throwable cause) implements Event {
    }

    record Subscribed(int attempt) implements Event {
    }

    record Lost(int attempt, Throwable cause) implements Event {
    }

    record Ack(StampAck ack) implements Event {
    }

    /** The outbox answered the delete of an acknowledged event; {@code error} null when it is gone. */
    record DeleteDone(String eventId, Throwable error) implements Event {
    }

    record Close() implements Event {
    }

    record Publish(String topic, byte[] payload, boolean retained,
            java.util.concurrent.CompletableFuture<Boolean> handed) implements Event {
    }

    /** Fleet seam: a retained last will the broker publishes when this connection dies. Call before start. */
    public void setWill(String topic, byte[] payload) {
        this.willTopic = topic;
        this.willPayload = payload.clone();
    }

    /** Fleet seam: also subscribe (QoS 1) to {@code topic} on every connect; the handler runs on Paho's thread and must only hand over. */
    public void addSubscription(String topic, java.util.function.Consumer<byte[]> handler) {
        extraSubscriptions.put(topic, handler);
    }

    /** Fleet seam: called on the uplink thread each time the connection is ready; must not block. */
    public void onReady(Runnable listener) {
        this.onReady = Objects.requireNonNull(listener, "listener");
    }

    /** Fleet seam: publish QoS 1 from any thread (made on the uplink thread); dropped while disconnected. */
    public java.util.concurrent.CompletableFuture<Boolean> publish(String topic, byte[] payload, boolean retained) {
        java.util.concurrent.CompletableFuture<Boolean> handed = new java.util.concurrent.CompletableFuture<>();
        post(new Publish(topic, payload.clone(), retained, handed));
        return handed;
    }

    /**
     * @param bootId     this boot's id: only events scanned in this boot can be timed for the reward chime
     * @param ackTimeout how long the sink may stay silent about a sent event before it is sent again
     * @param random     uniform in [0, 1), for the backoff jitter
     * @param clock       the wall clock, for correcting events scanned before it synchronised
     * @param clockSynced whether the wall clock is synchronised now
     */
    public Uplink(MqttSettings settings, String deviceId, Outbox outbox, Feedback feedback, Ticker ticker,
            String bootId, Duration ackTimeout, DoubleSupplier random, Clock clock, BooleanSupplier clockSynced) {
        this(settings, deviceId, outbox, feedback, ticker, bootId, ackTimeout, random, clock, clockSynced, CONNECT_TIMEOUT);
    }

    /** @param connectTimeout Paho's connection timeout (whole seconds, at least 1); tests shorten it */
    Uplink(MqttSettings settings, String deviceId, Outbox outbox, Feedback feedback, Ticker ticker,
            String bootId, Duration ackTimeout, DoubleSupplier random, Clock clock, BooleanSupplier clockSynced,
            Duration connectTimeout) {
        if (connectTimeout.toSeconds() < 1) {
            throw new IllegalArgumentException("connectTimeout: " + connectTimeout + " is below Paho's unit of one second");
        }
        this.connectTimeout = connectTimeout;
        this.clock = Objects.requireNonNull(clock, "clock");
        this.clockSynced = Objects.requireNonNull(clockSynced, "clockSynced");
        this.settings = Objects.requireNonNull(settings, "settings");
        this.deviceId = Objects.requireNonNull(deviceId, "deviceId");
        Topics topics = new Topics(settings.topicPrefix());
        this.stampsTopic = topics.stamps(deviceId);
        this.acksTopic = topics.acks(deviceId);
        this.outbox = Objects.requireNonNull(outbox, "outbox");
        this.feedback = Objects.requireNonNull(feedback, "feedback");
        this.ticker = Objects.requireNonNull(ticker, "ticker");
        this.bootId = Objects.requireNonNull(bootId, "bootId");
        this.ackTimeout = Objects.requireNonNull(ackTimeout, "ackTimeout");
        this.backoff = new Backoff(settings.reconnectMin(), settings.reconnectMax(), random);
        this.window = new InflightWindow(settings.inflight());
        this.undeleted = new UndeletedAcks(new Backoff(DELETE_RETRY_MIN, DELETE_RETRY_MAX, random));
        // acks are bounded by what is in flight (twice, counting Paho's own redeliveries); a flood of
        // unsolicited ones beyond that is dropped and counted
        this.receiver = new AckReceiver(acksTopic, deviceId, 4 * settings.inflight() + 64, this::post,
                cause -> post(new Lost(liveAttempt, cause)), extraSubscriptions);
        this.thread = NamedThreads.of("uplink").newThread(this::run);
    }

    public void start() {
        thread.start();
    }

    /** True while connected and subscribed to acknowledgements; decides ACCEPTED versus ACCEPTED_OFFLINE. */
    public boolean isConnected() {
        return ready;
    }

    /** Something was appended to the outbox: send it now rather than at the next timer. */
    public void wake() {
        if (wakePending.compareAndSet(false, true)) {
            post(new Wake());
        }
    }

    /** For the systemd watchdog: the uplink thread has not ended (it catches everything but an Error). */
    public boolean running() {
        return thread.isAlive();
    }

    /** Events published since start, resends included. */
    public long published() {
        return published;
    }

    /** Acknowledgements that could not be decoded. */
    public long malformedAcks() {
        return receiver.malformed();
    }

    private void post(Event event) {
        events.add(event);
    }

    private void run() {
        try {
            client = new MqttAsyncClient(settings.url(), settings.clientId(), new MemoryPersistence());
            client.setCallback(receiver);
        } catch (MqttException e) {
            Logger.error("cannot create the MQTT client for {}: {}; stamps stay in the outbox", settings.url(), e.toString());
            return;
        }
        nextConnectAt = ticker.nanoTime();
        while (!closing) {
            try {
                Event event = events.poll(waitNanos(), TimeUnit.NANOSECONDS);
                if (closing) {
                    break;
                }
                if (event != null) {
                    handle(event);
                    handleQueued();
                }
                onTimers();
                correctClock();
                if (state == State.READY) {
                    fill();
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                break;
            } catch (RuntimeException e) {
                // one bad event must not end the uplink: log and carry on
                Logger.error(e, "uplink error");
            }
        }
        disconnect();
    }

    /**
     * Handles what else is queued before the next {@link #fill()}. Acks come in bursts (the sink answers a
     * batch at once); filling after each one read the outbox for one or two rows at a time, each read a
     * round trip to the outbox thread queued behind its delete batches (JFR of the drain: the uplink
     * thread parked in fill, docs/perf/drain-and-writes.md). At most a few windows' worth, so that
     * timers still run under a flood.
     */
    private void handleQueued() {
        int budget = 4 * settings.inflight() + 64;
        Event next;
        while (budget-- > 0 && !closing && (next = events.poll()) != null) {
            handle(next);
        }
    }

    private long waitNanos() {
        long now = ticker.nanoTime();
        long due = Long.MAX_VALUE;
        if (state == State.DISCONNECTED) {
            due = nextConnectAt;
        }
        if (state == State.CONNECTING) {
            due = connectDeadline;
        }
        if (state == State.READY) {
            if (nextReadAt != 0) {
                due = Math.min(due, nextReadAt);
            }
            OptionalLong oldest = window.oldestSentAt();
            if (oldest.isPresent()) {
                due = Math.min(due, oldest.getAsLong() + ackTimeout.toNanos());
            }
        }
        OptionalLong retry = undeleted.retryAt();
        if (retry.isPresent()) {
            due = Math.min(due, retry.getAsLong());
        }
        if (outbox.unsyncedAppends() > correctedUpTo) {
            due = Math.min(due, now + CLOCK_POLL.toNanos()); // watch for the clock to synchronise
        }
        return due == Long.MAX_VALUE ? TimeUnit.SECONDS.toNanos(60) : Math.max(0, due - now);
    }

    /**
     * Once the wall clock is synchronised, rewrites this boot's events that were stored before it was, so
     * that they are sent with a trustworthy time. Runs in small batches on the outbox thread (appends go
     * first); events of earlier boots cannot be corrected (their monotonic time means nothing now) and
     * keep {@code clockSynced=false}. An event already in flight may reach the sink uncorrected; its
     * resend, if any, carries the corrected time under the same event id and is counted once.
     */
    private void correctClock() {
        long pendingUpTo = outbox.unsyncedAppends();
        if (pendingUpTo <= correctedUpTo || !clockSynced.getAsBoolean()) {
            return;
        }
        int total = 0;
        try {
            while (true) {
                Instant wallNow = clock.instant();
                long monoNow = ticker.nanoTime();
                int n = outbox.correctClock(bootId, wallNow, monoNow, CORRECTION_BATCH)
                        .get(OUTBOX_WAIT.toMillis(), TimeUnit.MILLISECONDS);
                total += n;
                if (n < CORRECTION_BATCH) {
                    break;
                }
            }
        } catch (ExecutionException | TimeoutException e) {
            Logger.warn("cannot correct the time of unsynchronised events ({}); trying again", e.toString());
            return;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            closing = true;
            return;
        }
        correctedUpTo = pendingUpTo;
        if (total > 0) {
            Logger.info("clock synchronised: corrected the time of {} event(s) of this boot stored before it was", total);
        }
    }

    private void handle(Event event) {
        if (event instanceof Wake) {
            wakePending.set(false);
            drained = false;
        } else if (event instanceof Connected connected) {
            if (current(connected.attempt(), State.CONNECTING)) {
                onConnected();
            }
        } else if (event instanceof ConnectFailed failed) {
            if (current(failed.attempt(), State.CONNECTING)) {
                onConnectFailed(failed.cause());
            }
        } else if (event instanceof Subscribed subscribed) {
            if (!current(subscribed.attempt(), State.SUBSCRIBING)) {
                return;
            }
            state = State.READY;
            ready = true;
            try {
                onReady.run();
            } catch (RuntimeException e) {
                Logger.warn("ready listener failed: {}", e.toString());
            }
            window.resendAll();
            drained = false;
            Logger.info("uplink ready: subscribed to {}, sending from the outbox", acksTopic);
        } else if (event instanceof Lost lost) {
            if (lost.attempt() == attempt && (state == State.SUBSCRIBING || state == State.READY)) {
                onLost(lost.cause());
            }
        } else if (event instanceof Publish p) {
            boolean handed = false;
            if (state == State.READY || state == State.SUBSCRIBING) {
                try {
                    client.publish(p.topic(), p.payload(), 1, p.retained());
                    handed = true;
                } catch (MqttException e) {
                    Logger.debug("publish to {} failed: {}", p.topic(), e.toString());
                }
            }
            p.handed().complete(handed);
        } else if (event instanceof Ack ack) {
            receiver.taken();
            onAck(ack.ack());
        } else if (event instanceof DeleteDone done) {
            onDeleteDone(done);
        }
    }

    private boolean current(int eventAttempt, State expected) {
        if (eventAttempt != attempt || state != expected) {
            Logger.debug("ignoring a late event of connect attempt {} (now {} in state {})", eventAttempt, attempt, state);
            return false;
        }
        return true;
    }

    private void onTimers() {
        long now = ticker.nanoTime();
        for (String eventId : undeleted.due(now)) {
            delete(eventId); // the outbox is local: connected or not
        }
        if (state == State.CONNECTING && now - connectDeadline >= 0) {
            onConnectStalled();
        }
        if (state == State.DISCONNECTED && now - nextConnectAt >= 0) {
            connect();
        }
        if (state == State.READY) {
            if (nextReadAt != 0 && now - nextReadAt >= 0) {
                nextReadAt = 0;
            }
            OptionalLong oldest = window.oldestSentAt();
            if (oldest.isPresent() && now - oldest.getAsLong() >= ackTimeout.toNanos()) {
                Logger.warn("no acknowledgement from the sink for {} event(s) within {} s; sending them again",
                        window.size(), ackTimeout.toSeconds());
                window.resendAll();
                drained = false;
            }
        }
    }

    private void connect() {
        MqttConnectOptions options = new MqttConnectOptions();
        options.setCleanSession(false);
        options.setAutomaticReconnect(false);
        options.setMqttVersion(MqttConnectOptions.MQTT_VERSION_3_1_1);
        // Nagle off: otherwise every stamp waits ~40 ms for the broker's delayed ACK (see NoDelaySockets)
        options.setSocketFactory(settings.tls().socketFactory(settings.url()));
        options.setHttpsHostnameVerificationEnabled(true); // the broker's certificate must name the host in mqtt.url
        options.setKeepAliveInterval((int) settings.keepAlive().toSeconds());
        options.setConnectionTimeout((int) connectTimeout.toSeconds());
        // after a reconnect Paho redelivers its own unconfirmed publishes besides ours: room for both
        options.setMaxInflight(2 * settings.inflight() + 1);
        if (settings.username() != null) {
            options.setUserName(settings.username());
        }
        if (settings.password() != null) {
            options.setPassword(settings.password().toCharArray());
        }
        if (willTopic != null) {
            options.setWill(willTopic, willPayload, 1, true);
        }
        state = State.CONNECTING;
        connectDeadline = ticker.nanoTime() + connectWatchdog().toNanos();
        int thisAttempt = ++attempt;
        try {
            client.connect(options, null, new IMqttActionListener() {
                @Override
                public void onSuccess(IMqttToken token) {
                    liveAttempt = thisAttempt;
                    post(new Connected(thisAttempt));
                }

                @Override
                public void onFailure(IMqttToken token, Throwable cause) {
                    post(new ConnectFailed(thisAttempt, cause));
                }
            });
        } catch (MqttException e) {
            onConnectFailed(e);
        }
    }

    /**
     * How long an attempt may go without Paho calling back. Paho 1.2.5 applies the connection timeout to
     * the TCP connect and, separately, to the TLS handshake, but not to the wait for CONNACK: a broker, a
     * proxy or a host that accepts the connection and never answers the CONNECT leaves the async connect
     * pending forever, with no callback and no retry. Twice the timeout covers both bounded steps.
     */
    private Duration connectWatchdog() {
        return connectTimeout.multipliedBy(2);
    }

    /** No callback within {@link #connectWatchdog()}: drop the connection and retry like any failed connect. */
    private void onConnectStalled() {
        try {
            // no DISCONNECT packet: the broker has not answered anything yet; this closes the socket and
            // returns Paho to "disconnected" so that the next connect is not refused as "in progress"
            client.disconnectForcibly(0, 0, false);
        } catch (MqttException e) {
            Logger.debug("forced disconnect of a stalled connect failed: {}", e.toString());
        }
        onConnectFailed(new TimeoutException("no answer to CONNECT within " + connectWatchdog().toSeconds()
                + " s: the host accepted the connection and stayed silent"));
    }

    private void onConnected() {
        failedAttempts = 0;
        backoff.reset();
        state = State.SUBSCRIBING;
        Logger.info("connected to {} as {}", settings.url(), settings.clientId());
        int thisAttempt = attempt;
        try {
            List<String> filters = new java.util.ArrayList<>(List.of(acksTopic));
            filters.addAll(extraSubscriptions.keySet());
            client.subscribe(filters.toArray(String[]::new), filters.stream().mapToInt(f -> 1).toArray(), null,
                    new IMqttActionListener() {
                @Override
                public void onSuccess(IMqttToken token) {
                    int[] granted = token.getGrantedQos();
                    if (granted != null && java.util.Arrays.stream(granted).anyMatch(q -> q == 0x80)) {
                        post(new Lost(thisAttempt, new MqttException(MqttException.REASON_CODE_SUBSCRIBE_FAILED)));
                    } else {
                        post(new Subscribed(thisAttempt));
                    }
                }

                @Override
                public void onFailure(IMqttToken token, Throwable cause) {
                    post(new Lost(thisAttempt, cause));
                }
            });
        } catch (MqttException e) {
            onLost(e);
        }
    }

    private void onConnectFailed(Throwable cause) {
        state = State.DISCONNECTED;
        ready = false;
        failedAttempts++;
        Duration wait = backoff.next();
        nextConnectAt = ticker.nanoTime() + wait.toNanos();
        String tls = MqttTls.explain(cause); // a wrong CA: name the file to fix, not a PKIX stack
        String message = "cannot connect to {} ({}); attempt {}, next in {} ms; stamps are kept in the outbox";
        if (failedAttempts == 1) {
            Logger.warn(message, settings.url(), tls != null ? tls : describe(cause), failedAttempts, wait.toMillis());
        } else {
            Logger.info(message, settings.url(), tls != null ? tls : describe(cause), failedAttempts, wait.toMillis());
        }
    }

    private void onLost(Throwable cause) {
        boolean wasReady = ready;
        ready = false;
        state = State.DISCONNECTED;
        int unacked = window.size();
        window.resendAll();
        if (client.isConnected()) {
            // a failed subscribe leaves the connection up; drop it so the next connect starts clean
            try {
                client.disconnectForcibly(0, 1000, false);
            } catch (MqttException e) {
                Logger.debug("forced disconnect failed: {}", e.toString());
            }
        }
        Duration wait = backoff.next();
        nextConnectAt = ticker.nanoTime() + wait.toNanos();
        Logger.warn("{} {} ({}); {} unacknowledged event(s) will be sent again; reconnecting in {} ms",
                wasReady ? "lost the connection to" : "could not subscribe at", settings.url(), describe(cause), unacked,
                wait.toMillis());
    }

    private void onAck(StampAck ack) {
        InflightWindow.Entry entry = window.acked(ack.eventId());
        String seq = entry == null ? "?" : String.valueOf(entry.seq());
        delete(ack.eventId());
        switch (ack.outcome()) {
            case REJECTED -> Logger.warn("sink rejected event {} (seq {}): {}", ack.eventId(), seq, ack.reason());
            case DUPLICATE -> Logger.debug("sink already had event {} (seq {})", ack.eventId(), seq);
            case ACCEPTED -> Logger.debug("sink accepted event {} (seq {})", ack.eventId(), seq);
        }
        if (ack.outcome() == AckOutcome.ACCEPTED && ack.rewardEarned() && entry != null
                && bootId.equals(entry.bootId())
                && ticker.nanoTime() - entry.scannedAtNanos() <= REWARD_WINDOW.toNanos()) {
            String card = ack.card() == null ? "" : "card=" + ack.card().cardId() + " program=" + ack.card().programId()
                    + " rewards=" + ack.card().rewardsAvailable();
            feedback.signal(Signal.REWARD_DUE, card);
        }
    }

    /** Deletes an acknowledged event; the outcome comes back to this thread as {@link DeleteDone}. */
    private void delete(String eventId) {
        undeleted.deleting(eventId);
        outbox.delete(eventId).whenComplete((found, error) -> post(new DeleteDone(eventId, error)));
    }

    private void onDeleteDone(DeleteDone done) {
        if (done.error() == null) {
            undeleted.deleted(done.eventId());
            if (deleteRounds > 0 && undeleted.size() == 0) {
                Logger.info("acknowledged events deleted from the outbox again, after {} failed attempt(s)", deleteRounds);
                deleteRounds = 0;
            }
            return;
        }
        Duration wait = undeleted.failed(done.eventId(), ticker.nanoTime());
        if (wait == null) {
            Logger.debug("cannot delete acknowledged event {} either: {}", done.eventId(), done.error().toString());
            return;
        }
        deleteRounds++;
        String message = "cannot delete acknowledged event {} from the outbox (attempt {}): {}; {} acknowledged event(s) "
                + "wait, deleted again in {} ms and not sent again meanwhile";
        Object[] args = {done.eventId(), deleteRounds, done.error().toString(), undeleted.size(), wait.toMillis()};
        if (deleteRounds == 1 || deleteRounds % 12 == 0) { // about once a minute while it lasts
            Logger.warn(message, args);
        } else {
            Logger.debug(message, args);
        }
    }

    /** Publishes from the outbox until the window is full or the outbox has nothing more. */
    private void fill() {
        while (state == State.READY && !closing && window.room() > 0 && nextReadAt == 0 && !drained) {
            int wanted = window.room();
            List<StoredEvent> batch;
            try {
                batch = outbox.pending(window.lastSentSeq(), wanted)
                        .get(OUTBOX_WAIT.toMillis(), TimeUnit.MILLISECONDS);
            } catch (ExecutionException | TimeoutException e) {
                Logger.warn("cannot read the outbox ({}); trying again in {} s", e.toString(), RETRY_READ.toSeconds());
                nextReadAt = ticker.nanoTime() + RETRY_READ.toNanos();
                return;
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                closing = true;
                return;
            }
            drained = batch.size() < wanted;
            for (StoredEvent event : batch) {
                if (undeleted.holds(event.eventId())) {
                    window.skipped(event.seq()); // acknowledged, its delete under way or waiting for a retry
                    continue;
                }
                try {
                    client.publish(stampsTopic, event.payload(), 1, false);
                } catch (MqttException e) {
                    // the connection is going down; connectionLost follows and resets the window
                    Logger.debug("publish of seq {} failed: {}", event.seq(), e.toString());
                    drained = false;
                    nextReadAt = ticker.nanoTime() + RETRY_READ.toNanos();
                    return;
                }
                window.sent(event, ticker.nanoTime());
                published++;
            }
        }
    }

    private void disconnect() {
        ready = false;
        if (client == null) {
            return;
        }
        try {
            if (client.isConnected()) {
                client.disconnect(200).waitForCompletion(1000);
            }
        } catch (MqttException e) {
            Logger.debug("clean disconnect failed: {}", e.toString());
        }
        try {
            client.disconnectForcibly(0, 200, false);
        } catch (MqttException e) {
            Logger.debug("forced disconnect: {}", e.toString());
        }
        try {
            client.close(true);
        } catch (MqttException e) {
            Logger.debug("closing the MQTT client: {}", e.toString());
        }
    }

    /** Stops sending (nothing more is published), disconnects and waits at most {@code wait}. */
    public void close(Duration wait) {
        closing = true;
        post(new Close());
        try {
            thread.join(wait.toMillis());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        if (thread.isAlive()) {
            Logger.warn("uplink did not disconnect within {} ms", wait.toMillis());
            thread.interrupt();
        }
    }

    @Override
    public void close() {
        close(Duration.ofSeconds(2));
    }

    private static String describe(Throwable cause) {
        if (cause == null) {
            return "no reason given";
        }
        Throwable root = cause;
        while (root.getCause() != null && root.getCause() != root) {
            root = root.getCause();
        }
        String text = cause.getMessage() == null ? cause.getClass().getSimpleName() : cause.getMessage();
        return root == cause ? text : text + ": " + root;
    }
}
