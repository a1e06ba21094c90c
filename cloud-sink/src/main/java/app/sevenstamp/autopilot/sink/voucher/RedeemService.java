package app.sevenstamp.autopilot.sink.voucher;

import app.sevenstamp.autopilot.protocol.MalformedMessageException;
import app.sevenstamp.autopilot.protocol.RedeemAnswer;
import app.sevenstamp.autopilot.protocol.RedeemRequest;
import app.sevenstamp.autopilot.protocol.Topics;
import app.sevenstamp.autopilot.protocol.WireCodec;
import app.sevenstamp.autopilot.protocol.support.Backoff;
import app.sevenstamp.autopilot.protocol.support.MqttTls;
import app.sevenstamp.autopilot.protocol.support.NamedThreads;
import app.sevenstamp.autopilot.sink.broker.MqttSession;
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
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;
import org.eclipse.paho.client.mqttv3.MqttConnectOptions;
import org.eclipse.paho.client.mqttv3.MqttException;
import org.eclipse.paho.client.mqttv3.MqttMessage;
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
 * without waiting for PUBACKs. The connection is an {@link MqttSession}: its "sink-redeem-connect" thread
 * connects with jittered backoff (0.5 s to 30 s) and subscribes after each (re)connect. No lock is held
 * across I/O.
 */
public final class RedeemService implements AutoCloseable {
    static final int QUEUE_CAPACITY = 256;
    private static final Duration MIN_BACKOFF = Duration.ofMillis(500);
    private static final Duration MAX_BACKOFF = Duration.ofSeconds(30);
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
    private final MqttSession session;
    private final BlockingQueue<Inbound> queue = new ArrayBlockingQueue<>(QUEUE_CAPACITY);
    private final Thread worker;
    private final Set<String> warned = ConcurrentHashMap.newKeySet();
    private final DeviceLocations locations;
    private volatile boolean running = true;

    private RedeemService(Settings settings, Topics topics, Redemptions redemptions, SinkStore store, DeviceGate devices,
            DeviceLocations locations, VoucherMetrics metrics, Clock clock) {
        this.settings = settings;
        this.locations = Objects.requireNonNull(locations, "locations");
        this.topics = topics;
        this.redemptions = redemptions;
        this.store = store;
        this.deadLetters = new DeadLetters(store);
        this.devices = devices;
        this.metrics = metrics;
        this.clock = clock;
        this.worker = NamedThreads.of("redeem").newThread(this::work);
        // clean session: redemption is online only
        MqttConnectOptions o = MqttSession.options(settings.brokerUrl(), settings.tls(), settings.username(),
                settings.password(), true);
        o.setMaxInflight(1000);
        this.session = MqttSession.builder("redeem", "sink-redeem-connect")
                .client(settings.brokerUrl(), settings.clientId(), o)
                .subscribe(settings.subscription(), 1)
                .backoff(new Backoff(MIN_BACKOFF, MAX_BACKOFF, () -> ThreadLocalRandom.current().nextDouble()))
                .handler(this::arrived)
                .build();
    }

    /** Starts the worker and the connect loop; returns at once. */
    public static RedeemService start(Settings settings, Topics topics, Redemptions redemptions, SinkStore store,
            DeviceGate devices, VoucherMetrics metrics, Clock clock) {
        return start(settings, topics, redemptions, store, devices, DeviceLocations.NONE, metrics, clock);
    }

    /** @param locations where each box was provisioned; a provisioned box's requests are checked against that */
    public static RedeemService start(Settings settings, Topics topics, Redemptions redemptions, SinkStore store,
            DeviceGate devices, DeviceLocations locations, VoucherMetrics metrics, Clock clock) {
        RedeemService s = new RedeemService(settings, topics, redemptions, store, devices, locations, metrics, clock);
        s.worker.start();
        s.session.start();
        return s;
    }

    /** Waits until the subscription is in place for the first time. */
    public boolean awaitSubscribed(Duration timeout) throws InterruptedException {
        return session.awaitReady(timeout);
    }

    /** The connection's state and counts, for the metrics. */
    public MqttSession.Status connectionStatus() {
        return session.status();
    }

    /** On Paho's callback thread: hand over only. */
    private void arrived(String topic, MqttMessage message) {
        if (!queue.offer(new Inbound(topic, message.getPayload()))) {
            metrics.countDropped();
            Logger.warn("redeem: queue full ({} requests); a request from {} is dropped, the box will cancel it",
                    QUEUE_CAPACITY, topic);
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
            session.publish(topics.redeemAnswers(answer.deviceId()), codec.encode(answer), 1, false);
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
        try {
            worker.join(1000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        session.close();
    }
}
