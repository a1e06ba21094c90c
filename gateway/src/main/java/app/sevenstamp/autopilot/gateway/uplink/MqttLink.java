package app.sevenstamp.autopilot.gateway.uplink;

import app.sevenstamp.autopilot.gateway.config.MqttSettings;
import app.sevenstamp.autopilot.gateway.support.Ticker;
import app.sevenstamp.autopilot.protocol.support.Backoff;
import app.sevenstamp.autopilot.protocol.support.MqttTls;
import app.sevenstamp.autopilot.protocol.support.NamedThreads;
import app.sevenstamp.autopilot.protocol.support.PahoLog;
import java.time.Duration;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;
import java.util.function.DoubleSupplier;
import org.eclipse.paho.client.mqttv3.IMqttActionListener;
import org.eclipse.paho.client.mqttv3.IMqttDeliveryToken;
import org.eclipse.paho.client.mqttv3.IMqttToken;
import org.eclipse.paho.client.mqttv3.MqttAsyncClient;
import org.eclipse.paho.client.mqttv3.MqttCallback;
import org.eclipse.paho.client.mqttv3.MqttConnectOptions;
import org.eclipse.paho.client.mqttv3.MqttException;
import org.eclipse.paho.client.mqttv3.MqttMessage;
import org.eclipse.paho.client.mqttv3.persist.MemoryPersistence;
import org.tinylog.Logger;

/**
 * The box's one MQTT session: connects, reconnects, makes every registered subscription again on each
 * connect, and publishes for the features ({@link Link}) and for the workers on its thread ({@link LinkWorker}).
 *
 * <p>Connection: Paho's automatic reconnect does not retry a failed first connect, so this class runs
 * its own loop, for the first connect too, with exponential backoff and full jitter between
 * {@code mqtt.reconnect.min} and {@code mqtt.reconnect.max}. An attempt that gets no answer at all
 * (a host that accepts TCP and never sends CONNACK, which Paho waits for forever) is given up after twice
 * the connection timeout and counts as a failed connect ({@link #connectWatchdog()}). {@code cleanSession=false}
 * keeps the subscriptions and the messages queued for us at the broker while we are away; Paho keeps nothing
 * on disk ({@link MemoryPersistence}): the outbox is the only store.
 *
 * <p>Threading: one thread ({@code uplink}) owns the Paho client and all connection state, makes every Paho
 * call and runs the workers. Paho's threads (its callback thread and the action listeners) only post events
 * to that thread's queue or hand a message to the subscription's handler: they never touch H2, never publish
 * and never wait. The queue is unbounded, but what arrives is bounded: connection events by the one attempt
 * under way, publishes by {@link #MAX_QUEUED_PUBLISHES} (beyond it {@link #publish} answers false at once,
 * counted), and the workers' hand-overs by what they keep in flight. No lock is held anywhere.
 */
final class MqttLink implements Link {
    /** Features' publishes waiting for the link's thread; a heartbeat, a few acks and vouchers need far fewer. */
    static final int MAX_QUEUED_PUBLISHES = 256;

    private final MqttSettings settings;
    private final Ticker ticker;
    private final Duration connectTimeout;
    private final Backoff backoff;
    private final LinkedBlockingQueue<Event> events = new LinkedBlockingQueue<>();
    private final AtomicInteger queuedPublishes = new AtomicInteger();
    private final AtomicLong refusedPublishes = new AtomicLong();
    private final List<Runnable> readyListeners = new CopyOnWriteArrayList<>();
    private final List<LinkWorker> workers = new CopyOnWriteArrayList<>();
    private final Thread thread;
    /** Written before start only (copy on write), read by Paho's callback thread. */
    private volatile Map<String, Consumer<byte[]>> subscriptions = Map.of();
    private volatile String willTopic;
    private volatile byte[] willPayload;
    private volatile boolean started;
    private volatile boolean ready;
    private volatile boolean closing;
    /** The attempt whose connection is up, set on Paho's thread before it posts {@link Connected}. */
    private volatile int liveAttempt;

    // owned by the link's thread
    private MqttAsyncClient client;
    private State state = State.DISCONNECTED;
    private long nextConnectAt;
    /** While {@link State#CONNECTING}: when the attempt is given up if Paho has not called back by then. */
    private long connectDeadline;
    private int failedAttempts;
    private int attempt;

    private enum State { DISCONNECTED, CONNECTING, SUBSCRIBING, READY }

    /** What Paho's threads, the features and the workers hand to the link's thread. */
    private sealed interface Event {
    }

    /*
     * Connection events carry the number of the connect attempt they belong to: a late event of an
     * earlier attempt (a subscribe failure and a connection loss both reporting one drop) is ignored.
     */
    private record Connected(int attempt) implements Event {
    }

    private record ConnectFailed(int attempt, Throwable cause) implements Event {
    }

    private record Subscribed(int attempt) implements Event {
    }

    private record Lost(int attempt, Throwable cause) implements Event {
    }

    private record Publish(String topic, byte[] payload, boolean retained, CompletableFuture<Boolean> handed)
            implements Event {
    }

    /** A worker's hand-over, run on the link's thread. */
    private record Task(Runnable work) implements Event {
    }

    private record Close() implements Event {
    }

    /** @param random uniform in [0, 1), for the backoff jitter */
    MqttLink(MqttSettings settings, Ticker ticker, DoubleSupplier random) {
        this.settings = Objects.requireNonNull(settings, "settings");
        this.ticker = Objects.requireNonNull(ticker, "ticker");
        this.connectTimeout = settings.connectTimeout();
        this.backoff = new Backoff(settings.reconnectMin(), settings.reconnectMax(), random);
        this.thread = NamedThreads.of("uplink").newThread(this::run);
    }

    @Override
    public void will(String topic, byte[] payload) {
        requireNotStarted("will");
        this.willTopic = Objects.requireNonNull(topic, "topic");
        this.willPayload = payload.clone();
    }

    @Override
    public synchronized void subscribe(String topic, Consumer<byte[]> handler) {
        requireNotStarted("subscribe " + topic);
        Map<String, Consumer<byte[]>> next = new LinkedHashMap<>(subscriptions);
        if (next.putIfAbsent(Objects.requireNonNull(topic, "topic"), Objects.requireNonNull(handler, "handler")) != null) {
            throw new IllegalStateException("subscribe " + topic + ": the topic already has a handler");
        }
        subscriptions = Collections.unmodifiableMap(next);
    }

    @Override
    public void onReady(Runnable listener) {
        readyListeners.add(Objects.requireNonNull(listener, "listener"));
    }

    @Override
    public CompletableFuture<Boolean> publish(String topic, byte[] payload, boolean retained) {
        CompletableFuture<Boolean> handed = new CompletableFuture<>();
        if (queuedPublishes.incrementAndGet() > MAX_QUEUED_PUBLISHES) {
            queuedPublishes.decrementAndGet();
            long n = refusedPublishes.incrementAndGet();
            if (n == 1 || n % 100 == 0) {
                Logger.warn("refused a publish to {}: {} publishes already wait for the uplink thread ({} refused so far)",
                        topic, MAX_QUEUED_PUBLISHES, n);
            }
            handed.complete(false);
            return handed;
        }
        post(new Publish(topic, payload.clone(), retained, handed));
        return handed;
    }

    @Override
    public boolean isConnected() {
        return ready;
    }

    /** Runs {@code worker} on the link's thread from start on, in the order added. Before start. */
    void addWorker(LinkWorker worker) {
        requireNotStarted("addWorker");
        workers.add(Objects.requireNonNull(worker, "worker"));
    }

    /** Hands {@code work} to the link's thread, from any thread; the caller bounds how much it hands over. */
    void execute(Runnable work) {
        post(new Task(work));
    }

    /** On the link's thread: connected and subscribed, so a worker may publish. */
    boolean readyHere() {
        return state == State.READY;
    }

    /** On the link's thread: close() was called; workers stop publishing. */
    boolean closing() {
        return closing;
    }

    /** On the link's thread only: a QoS 1 publish handed to Paho now. */
    void publishHere(String topic, byte[] payload, boolean retained) throws MqttException {
        client.publish(topic, payload, 1, retained);
    }

    /** Publishes refused because too many were waiting. */
    long refusedPublishes() {
        return refusedPublishes.get();
    }

    void start() {
        started = true;
        thread.start();
    }

    /** For the systemd watchdog: the link's thread has not ended (it catches everything but an Error). */
    boolean running() {
        return thread.isAlive();
    }

    private void requireNotStarted(String what) {
        if (started) {
            throw new IllegalStateException(what + ": register with the link before it starts");
        }
    }

    private void post(Event event) {
        events.add(event);
    }

    private void run() {
        try {
            PahoLog.install();
            client = new MqttAsyncClient(settings.url(), settings.clientId(), new MemoryPersistence());
            client.setCallback(new Callback());
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
                for (LinkWorker worker : workers) {
                    worker.run(ticker.nanoTime());
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                break;
            } catch (RuntimeException e) {
                // one bad event must not end the link: log and carry on
                Logger.error(e, "uplink error");
            }
        }
        disconnect();
    }

    /**
     * Handles what else is queued before the workers run. Acks come in bursts (the sink answers a batch at
     * once); filling after each one read the outbox for one or two rows at a time, each read a round trip to
     * the outbox thread queued behind its delete batches (JFR of the drain: the uplink thread parked in fill,
     * docs/perf/drain-and-writes.md). At most a few windows' worth, so that timers still run under a flood.
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
        for (LinkWorker worker : workers) {
            long at = worker.dueAt(now);
            if (at != Long.MAX_VALUE && (due == Long.MAX_VALUE || at - due < 0)) {
                due = at;
            }
        }
        return due == Long.MAX_VALUE ? TimeUnit.SECONDS.toNanos(60) : Math.max(0, due - now);
    }

    private void handle(Event event) {
        if (event instanceof Task task) {
            task.work().run();
        } else if (event instanceof Connected connected) {
            if (current(connected.attempt(), State.CONNECTING)) {
                onConnected();
            }
        } else if (event instanceof ConnectFailed failed) {
            if (current(failed.attempt(), State.CONNECTING)) {
                onConnectFailed(failed.cause());
            }
        } else if (event instanceof Subscribed subscribed) {
            if (current(subscribed.attempt(), State.SUBSCRIBING)) {
                onSubscribed();
            }
        } else if (event instanceof Lost lost) {
            if (lost.attempt() == attempt && (state == State.SUBSCRIBING || state == State.READY)) {
                onLost(lost.cause());
            }
        } else if (event instanceof Publish p) {
            queuedPublishes.decrementAndGet();
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
        }
        // Close: the loop sees closing
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
        if (state == State.CONNECTING && now - connectDeadline >= 0) {
            onConnectStalled();
        }
        if (state == State.DISCONNECTED && now - nextConnectAt >= 0) {
            connect();
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
        String[] filters = subscriptions.keySet().toArray(String[]::new);
        if (filters.length == 0) {
            post(new Subscribed(thisAttempt));
            return;
        }
        try {
            int[] qos = new int[filters.length];
            Arrays.fill(qos, 1);
            client.subscribe(filters, qos, null, new IMqttActionListener() {
                @Override
                public void onSuccess(IMqttToken token) {
                    int[] granted = token.getGrantedQos();
                    if (granted != null && Arrays.stream(granted).anyMatch(q -> q == 0x80)) {
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

    private void onSubscribed() {
        state = State.READY;
        ready = true;
        for (Runnable listener : readyListeners) {
            try {
                listener.run();
            } catch (RuntimeException e) {
                Logger.warn("ready listener failed: {}", e.toString());
            }
        }
        for (LinkWorker worker : workers) {
            worker.ready();
        }
        Logger.info("uplink ready: subscribed to {}", subscriptions.keySet());
    }

    private void onConnectFailed(Throwable cause) {
        long now = ticker.nanoTime(); // before the draw: the wait counts from the failure
        state = State.DISCONNECTED;
        ready = false;
        failedAttempts++;
        Duration wait = backoff.next();
        nextConnectAt = now + wait.toNanos();
        String tls = MqttTls.explain(cause); // a wrong CA: name the file to fix, not a PKIX stack
        String message = "cannot connect to {} ({}); attempt {}, next in {} ms; stamps are kept in the outbox";
        if (failedAttempts == 1) {
            Logger.warn(message, settings.url(), tls != null ? tls : describe(cause), failedAttempts, wait.toMillis());
        } else {
            Logger.info(message, settings.url(), tls != null ? tls : describe(cause), failedAttempts, wait.toMillis());
        }
    }

    private void onLost(Throwable cause) {
        long now = ticker.nanoTime();
        boolean wasReady = ready;
        ready = false;
        state = State.DISCONNECTED;
        for (LinkWorker worker : workers) {
            worker.lost();
        }
        if (client.isConnected()) {
            // a failed subscribe leaves the connection up; drop it so the next connect starts clean
            try {
                client.disconnectForcibly(0, 1000, false);
            } catch (MqttException e) {
                Logger.debug("forced disconnect failed: {}", e.toString());
            }
        }
        Duration wait = backoff.next();
        nextConnectAt = now + wait.toNanos();
        Logger.warn("{} {} ({}); reconnecting in {} ms", wasReady ? "lost the connection to" : "could not subscribe at",
                settings.url(), describe(cause), wait.toMillis());
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

    /** Stops (nothing more is published), disconnects and waits at most {@code wait}. */
    void close(Duration wait) {
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

    /**
     * Paho's global callback, on Paho's callback thread, where blocking or calling back into the client
     * deadlocks (several reported Paho issues): it only hands over.
     */
    private final class Callback implements MqttCallback {
        @Override
        public void connectionLost(Throwable cause) {
            post(new Lost(liveAttempt, cause));
        }

        @Override
        public void messageArrived(String topic, MqttMessage message) {
            Consumer<byte[]> handler = subscriptions.get(topic);
            if (handler == null) {
                Logger.debug("ignoring a message on {}", topic);
                return;
            }
            try {
                handler.accept(message.getPayload());
            } catch (RuntimeException e) {
                // thrown back to Paho it would drop the connection, and the broker would redeliver the same message
                Logger.warn("the handler of {} failed: {}", topic, e.toString());
            }
        }

        @Override
        public void deliveryComplete(IMqttDeliveryToken token) {
            // a broker PUBACK: not an acknowledgement from the sink, nothing to do
        }
    }
}
