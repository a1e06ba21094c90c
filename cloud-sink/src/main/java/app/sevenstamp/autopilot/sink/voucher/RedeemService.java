package app.sevenstamp.autopilot.sink.voucher;

import app.sevenstamp.autopilot.protocol.MalformedMessageException;
import app.sevenstamp.autopilot.protocol.RedeemAnswer;
import app.sevenstamp.autopilot.protocol.RedeemRequest;
import app.sevenstamp.autopilot.protocol.Topics;
import app.sevenstamp.autopilot.protocol.WireCodec;
import app.sevenstamp.autopilot.protocol.support.MqttTls;
import app.sevenstamp.autopilot.protocol.support.NamedThreads;
import app.sevenstamp.autopilot.sink.broker.BrokerConnect;
import app.sevenstamp.autopilot.sink.broker.ReconnectWatchdog;
import app.sevenstamp.autopilot.sink.broker.BrokerLogin;
import app.sevenstamp.autopilot.sink.ingest.DeviceGate;
import app.sevenstamp.autopilot.sink.store.DeadLetters;
import app.sevenstamp.autopilot.sink.store.SinkStore;
import app.sevenstamp.autopilot.sink.store.StoreException;
import java.time.Clock;
import java.time.Duration;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;
import org.eclipse.paho.client.mqttv3.IMqttDeliveryToken;
import org.eclipse.paho.client.mqttv3.MqttAsyncClient;
import org.eclipse.paho.client.mqttv3.MqttCallbackExtended;
import org.eclipse.paho.client.mqttv3.MqttConnectOptions;
import org.eclipse.paho.client.mqttv3.MqttException;
import org.eclipse.paho.client.mqttv3.MqttMessage;
import org.eclipse.paho.client.mqttv3.persist.MemoryPersistence;
import org.tinylog.Logger;

/**
 * Voucher redemption over MQTT: takes {@link RedeemRequest}s from {@code PREFIX/gw/+/redeem} (or its
 * {@code $share/GROUP/...} form with several sinks), decides each with {@link Redemptions}, and answers on
 * the device's {@code redeemack} topic at QoS 1 after the transaction committed and the store synced.
 *
 * <p>Own MQTT client ({@code <mqtt.clientId>-redeem}), clean session: redemption is online only, and a
 * request lost while the sink is away is covered by the protocol (the box times out, says "cannot check
 * now" and sends a CANCEL, which the sink records whenever it arrives).
 *
 * <p>Bad input: a payload that does not decode, or names another device than its topic, or an unusable
 * request id, is counted ({@code vouchers.malformed.<kind>}), logged once per kind at WARN, parked as a
 * dead letter, and not answered; the service goes on. A provisioned box's request is checked against the
 * location it was provisioned for ({@link DeviceLocations}), not the one it claims.
 *
 * <p>Threads: Paho's callback thread only offers each message to a bounded queue (full: counted and
 * dropped; the box cancels after its timeout). The one "redeem" thread decides, syncs and publishes
 * without waiting for PUBACKs. "sink-redeem-connect" connects with backoff and subscribes after each
 * (re)connect. No lock is held across I/O.
 */
public final class RedeemService implements AutoCloseable {
    static final int QUEUE_CAPACITY = 256;
    /** Paho's connection timeout (TCP connect, TLS handshake; the CONNACK wait is bounded by BrokerConnect). */
    private static final int CONNECT_TIMEOUT_S = 10;
    /** Paho's automatic reconnect backs off up to this; the reconnect watchdog waits it out first. */
    private static final int MAX_RECONNECT_DELAY_MS = 30_000;
    /** Request ids are UUIDs; anything printable up to 64 characters is kept as a key. */
    static final Pattern REQUEST_ID = Pattern.compile("[\\x21-\\x7E]{1,64}");

    /** What the redeem service needs of the configuration. */
    public record Settings(String brokerUrl, String clientId, String username, String password, String subscription,
            MqttTls tls) {
        public Settings {
            Objects.requireNonNull(brokerUrl, "brokerUrl");
            Objects.requireNonNull(clientId, "clientId");
            Objects.requireNonNull(subscription, "subscription");
            Objects.requireNonNull(tls, "tls");
        }

        @Override
        public String toString() {
            return "Settings[" + brokerUrl + ", clientId=" + clientId + ", username=" + username + "]";
        }
    }

    private record Inbound(String topic, byte[] payload) {
    }

    private final Settings settings;
    private final Topics topics;
    private final Redemptions redemptions;
    private final SinkStore store;
    private final DeadLetters deadLetters;
    private final DeviceGate devices;
    private final VoucherMetrics metrics;
    private final Clock clock;
    private final WireCodec codec = new WireCodec();
    private final MqttAsyncClient client;
    private final BlockingQueue<Inbound> queue = new ArrayBlockingQueue<>(QUEUE_CAPACITY);
    private final ScheduledExecutorService connector;
    private final Thread worker;
    private final Set<String> warned = ConcurrentHashMap.newKeySet();
    private final DeviceLocations locations;
    private final CountDownLatch subscribed = new CountDownLatch(1);
    private volatile boolean running = true;
    private final ReconnectWatchdog watchdog;

    private RedeemService(Settings settings, Topics topics, Redemptions redemptions, SinkStore store, DeviceGate devices,
            DeviceLocations locations, VoucherMetrics metrics, Clock clock) throws MqttException {
        this.settings = settings;
        this.locations = Objects.requireNonNull(locations, "locations");
        this.topics = topics;
        this.redemptions = redemptions;
        this.store = store;
        this.deadLetters = new DeadLetters(store);
        this.devices = devices;
        this.metrics = metrics;
        this.clock = clock;
        this.client = new MqttAsyncClient(settings.brokerUrl(), settings.clientId(), new MemoryPersistence());
        this.connector = Executors.newSingleThreadScheduledExecutor(NamedThreads.daemon("sink-redeem-connect"));
        this.worker = NamedThreads.of("redeem").newThread(this::work);
        this.watchdog = new ReconnectWatchdog("redeem", client, MAX_RECONNECT_DELAY_MS, CONNECT_TIMEOUT_S);
    }

    /** Starts the worker and the connect loop; returns at once. */
    public static RedeemService start(Settings settings, Topics topics, Redemptions redemptions, SinkStore store,
            DeviceGate devices, VoucherMetrics metrics, Clock clock) {
        return start(settings, topics, redemptions, store, devices, DeviceLocations.NONE, metrics, clock);
    }

    /** @param locations where each box was provisioned; a provisioned box's requests are checked against that */
    public static RedeemService start(Settings settings, Topics topics, Redemptions redemptions, SinkStore store,
            DeviceGate devices, DeviceLocations locations, VoucherMetrics metrics, Clock clock) {
        RedeemService s;
        try {
            s = new RedeemService(settings, topics, redemptions, store, devices, locations, metrics, clock);
        } catch (MqttException e) {
            throw new IllegalArgumentException("cannot create an MQTT client for " + settings.brokerUrl() + ": "
                    + e.getMessage(), e);
        }
        s.client.setCallback(s.new Callback());
        s.worker.start();
        s.connector.execute(() -> s.connect(500));
        return s;
    }

    /** Waits until the subscription is in place for the first time. */
    public boolean awaitSubscribed(Duration timeout) throws InterruptedException {
        return subscribed.await(timeout.toMillis(), TimeUnit.MILLISECONDS);
    }

    private void connect(long delayMs) {
        if (!running) {
            return;
        }
        MqttConnectOptions o = new MqttConnectOptions();
        o.setCleanSession(true);
        o.setAutomaticReconnect(true);
        o.setMaxReconnectDelay(MAX_RECONNECT_DELAY_MS);
        o.setConnectionTimeout(CONNECT_TIMEOUT_S);
        o.setKeepAliveInterval(30);
        o.setMaxInflight(1000);
        o.setMqttVersion(MqttConnectOptions.MQTT_VERSION_3_1_1);
        BrokerLogin.apply(o, settings.brokerUrl(), settings.tls(), settings.username(), settings.password());
        try {
            BrokerConnect.connect(client, o); // bounded, and dropped when the broker never answers
        } catch (MqttException e) {
            // Paho's automatic reconnect does not retry a failed first connect.
            long next = Math.min(30_000, delayMs * 2);
            Logger.warn("redeem: cannot connect to {} ({}); retrying in {} ms", settings.brokerUrl(), e.getMessage(), delayMs);
            connector.schedule(() -> connect(next), delayMs, TimeUnit.MILLISECONDS);
        }
    }

    private void subscribe() {
        try {
            client.subscribe(settings.subscription(), 1).waitForCompletion(10_000);
            Logger.info("redeem: subscribed to {} at QoS 1", settings.subscription());
            subscribed.countDown();
        } catch (MqttException e) {
            Logger.error("redeem: cannot subscribe to {} on {}: {}", settings.subscription(), settings.brokerUrl(),
                    e.getMessage());
        }
    }

    private void work() {
        while (running) {
            Inbound in;
            try {
                in = queue.poll(200, TimeUnit.MILLISECONDS);
            } catch (InterruptedException e) {
                if (running) {
                    Logger.error("redeem: the redeem thread was interrupted; it stops");
                }
                Thread.currentThread().interrupt();
                return;
            }
            if (in == null) {
                continue;
            }
            try {
                handle(in.topic(), in.payload()).ifPresent(this::publish);
            } catch (StoreException e) {
                // Nothing committed; the box gets no answer, tells staff "cannot check now" and cancels.
                Logger.error("redeem: the store failed on a request from {}: {}", in.topic(), e.getMessage());
            } catch (RuntimeException e) {
                Logger.error(e, "redeem: a request from {} failed", in.topic());
            } catch (Error e) {
                // The JVM is in trouble (out of memory, a broken class): going on could answer wrongly. The
                // thread ends, workerAlive() turns false and the health check stops feeding the watchdog.
                Logger.error(e, "redeem: a request from {} hit {}; the redeem thread stops", in.topic(), e);
                throw e;
            }
        }
    }

    /** False once the redeem thread has ended (for the health check); it ends only on close or on an Error. */
    public boolean workerAlive() {
        return worker.isAlive();
    }

    /** Decides one message; the answer to publish, or empty for unusable input (counted and parked). */
    Optional<RedeemAnswer> handle(String topic, byte[] payload) {
        Optional<String> device = topics.deviceOf(topic);
        if (device.isEmpty()) {
            malformed(topic, null, payload, "topic", "a redeem request on topic '" + topic + "', which names no device");
            return Optional.empty();
        }
        if (!devices.admits(device.get())) {
            malformed(topic, device.get(), payload, DeviceGate.KIND, "device '" + device.get() + "' is not admitted "
                    + "(not in devices.allowed, or revoked); its redeem request is parked and not answered");
            return Optional.empty();
        }
        RedeemRequest r;
        try {
            r = codec.decode(payload, RedeemRequest.class);
        } catch (MalformedMessageException e) {
            malformed(topic, device.get(), payload, e.kind(), "device " + device.get() + " sent a malformed redeem request: "
                    + e.getMessage());
            return Optional.empty();
        }
        if (!r.deviceId().equals(device.get())) {
            malformed(topic, device.get(), payload, "topic", "redeem request " + shorten(r.requestId()) + " names device '"
                    + shorten(r.deviceId()) + "' but came on the topic of device '" + device.get() + "'");
            return Optional.empty();
        }
        if (!REQUEST_ID.matcher(r.requestId()).matches()) {
            malformed(topic, device.get(), payload, "field", "device " + device.get() + " sent a request id that is empty, "
                    + "longer than 64 characters or not printable ASCII");
            return Optional.empty();
        }
        Optional<String> provisioned = locations.of(device.get());
        if (provisioned.isPresent() && !provisioned.get().equals(r.location())) {
            // the box's credentials decide where it stands, not what its request says
            String detail = "device " + device.get() + " was provisioned for location " + provisioned.get()
                    + " but its redeem request says '" + shorten(r.location()) + "'; checked as " + provisioned.get();
            if (warned.add("location:" + device.get())) {
                Logger.warn(detail);
            } else {
                Logger.debug(detail);
            }
            r = new RedeemRequest(r.schema(), r.requestId(), r.deviceId(), r.action(), r.voucherCode(), provisioned.get(),
                    r.deviceTime());
        }
        RedeemAnswer answer = redemptions.decide(r, device.get());
        store.sync(); // the answer may hand over a reward: the decision must survive a power cut first
        Logger.info("voucher {} {} by {} (request {}): {}", answer.voucherCode(), r.action(), device.get(), r.requestId(),
                answer.outcome());
        return Optional.of(answer);
    }

    private void publish(RedeemAnswer answer) {
        try {
            client.publish(topics.redeemAnswers(answer.deviceId()), codec.encode(answer), 1, false);
        } catch (MqttException e) {
            metrics.countAnswerNotSent();
            Logger.warn("redeem: cannot send the answer to {} ({}); the box will cancel after its timeout",
                    answer.deviceId(), e.getMessage());
        }
    }

    private void malformed(String topic, String device, byte[] payload, String kind, String detail) {
        metrics.countMalformed(kind);
        if (warned.add(kind)) {
            Logger.warn("{} (further ones of this kind are logged at DEBUG and counted)", detail);
        } else {
            Logger.debug(detail);
        }
        try {
            deadLetters.park(clock.instant(), topic, device, "redeem-" + kind, detail, payload);
        } catch (RuntimeException e) {
            Logger.error("cannot park a dead letter of kind redeem-{} from {}: {}", kind, topic, e.getMessage());
        }
    }

    private static String shorten(String s) {
        return s.length() <= 80 ? s : s.substring(0, 80) + "...";
    }

    /** Stops taking requests, lets the current one finish (at most 1 s), disconnects. */
    @Override
    public void close() {
        running = false;
        watchdog.close();
        connector.shutdownNow();
        try {
            worker.join(1000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        try {
            if (client.isConnected()) {
                client.disconnect(200).waitForCompletion(500);
            }
        } catch (MqttException e) {
            Logger.debug("redeem disconnect: {}", e.getMessage());
        }
        try {
            client.disconnectForcibly(0, 100, false);
            client.close(true);
        } catch (MqttException e) {
            Logger.debug("redeem close: {}", e.getMessage());
        }
    }

    private final class Callback implements MqttCallbackExtended {
        @Override
        public void connectComplete(boolean reconnect, String serverURI) {
            watchdog.connected();
            // Never wait inside a Paho callback: subscribe on the connect thread.
            connector.execute(RedeemService.this::subscribe);
        }

        @Override
        public void connectionLost(Throwable cause) {
            watchdog.lost();
            Logger.warn("redeem: lost the connection to {} ({}); Paho reconnects", settings.brokerUrl(),
                    cause == null ? "no reason" : cause.getMessage());
        }

        @Override
        public void messageArrived(String topic, MqttMessage message) {
            if (!queue.offer(new Inbound(topic, message.getPayload()))) {
                metrics.countDropped();
                Logger.warn("redeem: queue full ({} requests); a request from {} is dropped, the box will cancel it",
                        QUEUE_CAPACITY, topic);
            }
        }

        @Override
        public void deliveryComplete(IMqttDeliveryToken token) {
            // nothing: an answer lost with the connection is covered by the box's timeout and CANCEL
        }
    }
}
