package app.sevenstamp.autopilot.sink.broker;

import app.sevenstamp.autopilot.protocol.support.Backoff;
import app.sevenstamp.autopilot.protocol.support.MqttTls;
import app.sevenstamp.autopilot.protocol.support.NamedThreads;
import app.sevenstamp.autopilot.protocol.support.PahoLog;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
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
 * One MQTT connection of the sink, kept up the same way for every feature (the ingest, the redeem service,
 * the fleet): a connect loop with jittered exponential {@link Backoff}, the first connect included (Paho's
 * automatic reconnect does not retry a failed first connect, and it has no jitter, so it is never used); each
 * attempt bounded by {@link BrokerConnect} (a broker that accepts and never answers is given up on); every
 * subscription made again after each connect (a clean session, or a broker that lost a kept one, has none);
 * and a {@link State} for the health check and the metrics. The client id and the session kind
 * ({@code cleanSession}) are the owner's, in the options it passes: the session changes neither.
 *
 * <p>Threads: one daemon thread (its name is given by the owner, e.g. {@code sink-redeem-connect}) makes
 * every connect, subscribe and disconnect; its queue holds at most one pending attempt (however many
 * failures ask for one) and the close. Paho's callback thread calls {@link Handler#messageArrived} and
 * {@link Handler#lost}, which must only hand over (decode, offer to a bounded queue) and never wait;
 * {@link Handler#ready} runs on the session's thread after the subscriptions are in place, and may wait (it
 * holds up the next attempt only). Publishing goes straight to Paho from any thread. No lock: the threads
 * meet at atomics and volatiles.
 */
public final class MqttSession implements AutoCloseable {
    /** Paho's connection timeout (TCP connect, TLS handshake); the CONNACK wait is bounded by BrokerConnect. */
    public static final int CONNECT_TIMEOUT_S = 10;
    private static final long SUBSCRIBE_WAIT_MS = 10_000;
    /** What a SUBACK says for a refused filter. */
    private static final int REFUSED = 0x80;

    /** Where the session is; {@link #READY} means connected and subscribed. */
    public enum State {
        /** An attempt is under way, or the next one waits out its backoff. */
        CONNECTING,
        /** Connected, every subscription answered. */
        READY,
        /** Closed; it does not connect again. */
        CLOSED
    }

    /** What the session tells its owner. */
    public interface Handler {
        /** On Paho's callback thread: hand over and return; never wait, never publish. */
        void messageArrived(String topic, MqttMessage message) throws Exception;

        /**
         * On the session's thread, after each connect once the subscriptions are in place.
         *
         * @param connection  the number of this connection (see {@link MqttSession#connection()})
         * @param sessionKept the broker still had this client's session
         */
        default void ready(long connection, boolean sessionKept) {
        }

        /** On Paho's callback thread when the connection was lost; the session reconnects by itself. */
        default void lost(Throwable cause) {
        }
    }

    /** A snapshot for health checks and metrics. */
    public record Status(State state, long connects, long failedAttempts, long lost, Duration lastDelay) {
        /**
         * For {@code SinkMetrics.include}: {@code PREFIX.open} (a gauge: 1 when connected and subscribed), and the
         * counters {@code PREFIX.connects}, {@code PREFIX.connectFailures}, {@code PREFIX.lost}.
         */
        public Map<String, Long> counters(String prefix) {
            return Map.of(prefix + ".open", state == State.READY ? 1L : 0L, prefix + ".connects", connects,
                    prefix + ".connectFailures", failedAttempts, prefix + ".lost", lost);
        }
    }

    private final String name;
    private final String brokerUrl;
    private final String clientId;
    private final MqttConnectOptions options;
    private final Map<String, Integer> subscriptions;
    private final Backoff backoff;
    private final Handler handler;
    private final MqttAsyncClient client;
    private final ScheduledExecutorService connector;
    private final CountDownLatch firstReady = new CountDownLatch(1);
    private final AtomicBoolean started = new AtomicBoolean();
    private final AtomicBoolean attemptPending = new AtomicBoolean();
    private final AtomicLong connection = new AtomicLong();
    private final AtomicLong connects = new AtomicLong();
    private final AtomicLong failedAttempts = new AtomicLong();
    private final AtomicLong lostCount = new AtomicLong();
    private volatile State state = State.CONNECTING;
    private volatile Duration lastDelay = Duration.ZERO;
    private volatile boolean closing;

    private MqttSession(Builder b) throws MqttException {
        this.name = b.name;
        this.brokerUrl = b.brokerUrl;
        this.clientId = b.clientId;
        this.options = b.options;
        this.options.setAutomaticReconnect(false); // the loop here reconnects, with jitter
        this.subscriptions = Collections.unmodifiableMap(new LinkedHashMap<>(b.subscriptions));
        this.backoff = b.backoff;
        this.handler = b.handler;
        PahoLog.install();
        this.client = new MqttAsyncClient(brokerUrl, clientId, new MemoryPersistence());
        this.client.setManualAcks(b.manualAcks);
        this.client.setCallback(new Callback());
        this.connector = Executors.newSingleThreadScheduledExecutor(NamedThreads.daemon(b.threadName));
    }

    /**
     * @param name       for log lines ("redeem", "fleet", "ingest")
     * @param threadName the session thread's name
     */
    public static Builder builder(String name, String threadName) {
        return new Builder(name, threadName);
    }

    /**
     * Connect options as every sink client uses them: MQTT 3.1.1, the given session kind, Paho's 10 s connection
     * timeout, keepalive 30 s, the TLS files and the account ({@link BrokerLogin}). The caller may change more.
     */
    public static MqttConnectOptions options(String brokerUrl, MqttTls tls, String username, String password,
            boolean cleanSession) {
        MqttConnectOptions o = new MqttConnectOptions();
        o.setCleanSession(cleanSession);
        o.setConnectionTimeout(CONNECT_TIMEOUT_S);
        o.setKeepAliveInterval(30);
        o.setMqttVersion(MqttConnectOptions.MQTT_VERSION_3_1_1);
        return BrokerLogin.apply(o, brokerUrl, tls, username, password);
    }

    /** Builds a session; {@link MqttSession#start()} begins connecting. */
    public static final class Builder {
        private final String name;
        private final String threadName;
        private String brokerUrl;
        private String clientId;
        private MqttConnectOptions options;
        private final Map<String, Integer> subscriptions = new LinkedHashMap<>();
        private Backoff backoff;
        private Handler handler;
        private boolean manualAcks;

        private Builder(String name, String threadName) {
            this.name = Objects.requireNonNull(name, "name");
            this.threadName = Objects.requireNonNull(threadName, "threadName");
        }

        public Builder client(String brokerUrl, String clientId, MqttConnectOptions options) {
            this.brokerUrl = Objects.requireNonNull(brokerUrl, "brokerUrl");
            this.clientId = Objects.requireNonNull(clientId, "clientId");
            this.options = Objects.requireNonNull(options, "options");
            return this;
        }

        /** Subscribed after every connect, in the order added. */
        public Builder subscribe(String filter, int qos) {
            subscriptions.put(Objects.requireNonNull(filter, "filter"), qos);
            return this;
        }

        /** The waits between attempts; reset once ready. Its random source decides the jitter. */
        public Builder backoff(Backoff backoff) {
            this.backoff = Objects.requireNonNull(backoff, "backoff");
            return this;
        }

        public Builder handler(Handler handler) {
            this.handler = Objects.requireNonNull(handler, "handler");
            return this;
        }

        /** Messages are acknowledged by the owner ({@link MqttSession#messageArrivedComplete}), not on return from the handler. */
        public Builder manualAcks(boolean manualAcks) {
            this.manualAcks = manualAcks;
            return this;
        }

        /**
         * Creates the client; {@link MqttSession#start()} begins connecting.
         *
         * @throws IllegalArgumentException a setting is missing, or Paho refuses the URL or the client id
         */
        public MqttSession build() {
            if (brokerUrl == null || backoff == null || handler == null || subscriptions.isEmpty()) {
                throw new IllegalArgumentException(name + ": an MQTT session needs a client, a backoff, a handler and "
                        + "at least one subscription");
            }
            MqttSession s;
            try {
                s = new MqttSession(this);
            } catch (MqttException | IllegalArgumentException e) {
                throw new IllegalArgumentException("cannot create an MQTT client for " + brokerUrl + " as " + clientId
                        + ": " + e.getMessage(), e);
            }
            return s;
        }
    }

    /** Schedules the first connect; returns at once. Once only. */
    public MqttSession start() {
        if (!started.compareAndSet(false, true)) {
            throw new IllegalStateException(name + ": the MQTT session was started already");
        }
        schedule(Duration.ZERO);
        return this;
    }

    /** Waits until the subscriptions are in place for the first time. */
    public boolean awaitReady(Duration timeout) throws InterruptedException {
        return firstReady.await(timeout.toMillis(), TimeUnit.MILLISECONDS);
    }

    /** Connected and subscribed right now. */
    public boolean isReady() {
        return state == State.READY && client.isConnected();
    }

    public boolean isConnected() {
        return client.isConnected();
    }

    public State state() {
        State s = state;
        return s == State.READY && !client.isConnected() ? State.CONNECTING : s;
    }

    public Status status() {
        return new Status(state(), connects.get(), failedAttempts.get(), lostCount.get(), lastDelay);
    }

    /**
     * The number of the current connection, counted up before each attempt: with a kept session the broker sends
     * what it queued right after CONNACK, so a message can be told by the connection it arrived on.
     */
    public long connection() {
        return connection.get();
    }

    public String brokerUrl() {
        return brokerUrl;
    }

    public IMqttDeliveryToken publish(String topic, byte[] payload, int qos, boolean retained) throws MqttException {
        return client.publish(topic, payload, qos, retained);
    }

    /** As Paho's: {@code done} hears how the publish ended, on Paho's callback thread. */
    public IMqttDeliveryToken publish(String topic, byte[] payload, int qos, boolean retained, Object context,
            IMqttActionListener done) throws MqttException {
        return client.publish(topic, payload, qos, retained, context, done);
    }

    /** Acknowledges a message received with manual acks (Paho's name for it). */
    public void messageArrivedComplete(int messageId, int qos) throws MqttException {
        client.messageArrivedComplete(messageId, qos);
    }

    /** One attempt, on the session thread; schedules the next on failure. */
    private void attempt() {
        if (closing) {
            return;
        }
        try {
            long id = connection.incrementAndGet(); // before connecting: see connection()
            boolean sessionKept = true;
            if (!client.isConnected()) {
                IMqttToken connected = BrokerConnect.connect(client, options); // bounded; dropped when never answered
                sessionKept = connected.getSessionPresent();
            }
            List<String> refused = subscribeAll();
            if (closing) {
                return;
            }
            backoff.reset();
            connects.incrementAndGet();
            state = State.READY;
            Logger.info("{}: connected to {} as {} (connection {}, session kept: {}); subscribed to {}{}", name, brokerUrl,
                    clientId, id, sessionKept, subscriptions.keySet(), refused.isEmpty() ? "" : ", refused: " + refused);
            firstReady.countDown();
            handler.ready(id, sessionKept);
        } catch (MqttException e) {
            if (closing) {
                return;
            }
            failedAttempts.incrementAndGet();
            if (client.isConnected()) {
                disconnectQuietly(); // connected but not subscribed: start over cleanly
            }
            Duration delay = nextDelay();
            Logger.warn("{}: cannot connect and subscribe on the MQTT broker at {} as {}: {}; retrying in {} ms", name, brokerUrl,
                    clientId, describe(e), delay.toMillis());
            schedule(delay);
        } catch (RuntimeException e) {
            // an exception escaping a scheduled task would end the loop for good
            Logger.error(e, "{}: unexpected failure in the MQTT connect loop; retrying", name);
            schedule(nextDelay());
        }
    }

    /**
     * Subscribes to every filter in one SUBSCRIBE. A refusal of every filter fails the attempt; some refused is
     * logged and accepted (with Mosquitto's dynamic security the fleet's topics are allowed only once its
     * {@code ready} has given the sink its role, which makes the broker end the connection: the next one has them).
     */
    private List<String> subscribeAll() throws MqttException {
        String[] filters = subscriptions.keySet().toArray(String[]::new);
        int[] qos = subscriptions.values().stream().mapToInt(Integer::intValue).toArray();
        IMqttToken sub = client.subscribe(filters, qos);
        sub.waitForCompletion(SUBSCRIBE_WAIT_MS);
        int[] granted = sub.getGrantedQos();
        if (granted == null || granted.length == 0) {
            throw new MqttException(MqttException.REASON_CODE_SUBSCRIBE_FAILED, new IllegalStateException(
                    "no answer to the subscription to " + subscriptions.keySet()));
        }
        List<String> refused = new ArrayList<>();
        for (int i = 0; i < filters.length && i < granted.length; i++) {
            if (granted[i] == REFUSED) {
                refused.add(filters[i]);
            }
        }
        if (refused.size() == filters.length) {
            throw new MqttException(MqttException.REASON_CODE_SUBSCRIBE_FAILED, new IllegalStateException(
                    "the broker refused the subscription to " + refused + "; check the account's ACL"));
        }
        return refused;
    }

    private Duration nextDelay() {
        Duration d = backoff.next();
        lastDelay = d;
        return d;
    }

    /** At most one attempt is pending, however many failures (a lost connection, a failed subscribe) ask. */
    private void schedule(Duration delay) {
        if (closing || !attemptPending.compareAndSet(false, true)) {
            return;
        }
        try {
            connector.schedule(() -> {
                attemptPending.set(false);
                attempt();
            }, delay.toMillis(), TimeUnit.MILLISECONDS);
        } catch (RejectedExecutionException e) {
            Logger.debug("{}: connect loop stopped", name);
        }
    }

    private final class Callback implements MqttCallback {
        @Override
        public void connectionLost(Throwable cause) {
            if (closing) {
                return;
            }
            state = State.CONNECTING;
            lostCount.incrementAndGet();
            Duration delay = nextDelay();
            Logger.warn("{}: lost the connection to {}: {}; reconnecting in {} ms", name, brokerUrl,
                    cause instanceof MqttException m ? describe(m) : String.valueOf(cause), delay.toMillis());
            try {
                handler.lost(cause);
            } finally {
                schedule(delay);
            }
        }

        @Override
        public void messageArrived(String topic, MqttMessage message) throws Exception {
            handler.messageArrived(topic, message);
        }

        @Override
        public void deliveryComplete(IMqttDeliveryToken token) {
            // the owners publish at QoS 1 without waiting; a lost one is covered by their protocols
        }
    }

    /** Stops the connect loop, disconnects (at most about 1 s) and closes the client. Idempotent. */
    @Override
    public void close() {
        if (closing) {
            return;
        }
        closing = true;
        state = State.CLOSED;
        connector.shutdownNow();
        try {
            // an attempt under way ends within its bounded waits; do not disconnect under it
            connector.awaitTermination(1, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        disconnectQuietly();
        try {
            client.close(true);
        } catch (MqttException e) {
            Logger.debug("{}: closing the MQTT client: {}", name, describe(e));
        }
    }

    private void disconnectQuietly() {
        try {
            if (client.isConnected()) {
                client.disconnect(200).waitForCompletion(500);
            }
        } catch (MqttException e) {
            Logger.debug("{}: disconnect: {}", name, describe(e));
        }
        try {
            if (client.isConnected()) {
                client.disconnectForcibly(0, 100, false);
            }
        } catch (MqttException e) {
            Logger.debug("{}: forced disconnect: {}", name, describe(e));
        }
    }

    /** An MQTT failure for a log line: a TLS cause names the file to fix; otherwise message, reason and cause. */
    public static String describe(MqttException e) {
        String tls = MqttTls.explain(e);
        if (tls != null) {
            return tls;
        }
        String cause = e.getCause() == null ? "" : " (" + e.getCause().getMessage() + ")";
        return e.getMessage() + " [reason " + e.getReasonCode() + "]" + cause;
    }
}
