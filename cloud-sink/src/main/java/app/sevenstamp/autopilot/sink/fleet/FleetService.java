package app.sevenstamp.autopilot.sink.fleet;

import app.sevenstamp.autopilot.protocol.CommandAck;
import app.sevenstamp.autopilot.protocol.CounterRules;
import app.sevenstamp.autopilot.protocol.DeviceStatus;
import app.sevenstamp.autopilot.protocol.MalformedMessageException;
import app.sevenstamp.autopilot.protocol.Topics;
import app.sevenstamp.autopilot.protocol.WireCodec;
import app.sevenstamp.autopilot.protocol.support.Backoff;
import app.sevenstamp.autopilot.protocol.support.MqttTls;
import app.sevenstamp.autopilot.protocol.support.LogBudget;
import app.sevenstamp.autopilot.protocol.support.NamedThreads;
import app.sevenstamp.autopilot.sink.broker.MqttSession;
import app.sevenstamp.autopilot.sink.fleet.FleetRegistry.Claim;
import app.sevenstamp.autopilot.sink.fleet.FleetRegistry.Device;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.atomic.LongAdder;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.function.BiConsumer;
import java.util.function.Function;
import java.util.function.LongFunction;
import java.util.function.LongSupplier;
import org.eclipse.paho.client.mqttv3.MqttConnectOptions;
import org.eclipse.paho.client.mqttv3.MqttException;
import org.eclipse.paho.client.mqttv3.MqttMessage;
import org.tinylog.Logger;

/**
 * The sink's side of fleet management, wired in one place: its own MQTT connection ({@code <mqtt.clientId>-fleet},
 * an {@link MqttSession}, so that nothing here can hold up the stamp ingest), the fleet thread, and the parts that
 * do the work: {@link Provisioning} (claims, provisioning requests), {@link Revocations} (the ingest's gate,
 * revoking), {@link DeviceControl} (desired config, commands), {@link RulesPublisher} (the retained counter
 * rules). Statuses and command acks go to the registry here.
 *
 * <p>Provisioning requests come on a connection of their own ({@code <mqtt.clientId>-fleet-provision}), so that
 * a flood of them, which anyone with the public login can send, fills no queue of the broker's that statuses
 * and command acks wait in.
 *
 * <p>Threads: Paho's callback thread only hands messages to the single "fleet" thread (bounded queue; a flood
 * beyond it is dropped, counted and logged ten lines a minute; provisioning requests through their own rate-bounded
 * {@link ProvisionIntake}, since anyone may send them) or completes a dynamic-security future. The fleet thread does the H2 work and
 * the broker calls, one message at a time; after each (re)connect it finishes the setup (dynamic security, the
 * rules). The session's "sink-fleet-connect" thread connects and subscribes.
 */
public final class FleetService implements AutoCloseable {
    /** The gateway keys {@code devices config set} may send (the gateway's registry marks the same ones; a test holds them equal). */
    public static final Set<String> REMOTE_KEYS = DeviceControl.REMOTE_KEYS;

    /** How long an operator's approval of one re-provisioning without the box's key stays usable. */
    public static final Duration APPROVAL_VALID = Provisioning.APPROVAL_VALID;
    private static final Duration MIN_BACKOFF = Duration.ofMillis(500);
    private static final Duration MAX_BACKOFF = Duration.ofSeconds(30);

    /**
     * @param provisionUser     the provisioning account dynamic security creates; null without
     * @param trustedKeyLine    given to a freshly provisioned box; null: none
     */
    public record Settings(String brokerUrl, String clientId, String username, String password, Topics topics,
            String provisionUser, String provisionPassword, String trustedKeyLine, MqttTls tls) {
        public Settings {
            Objects.requireNonNull(brokerUrl, "brokerUrl");
            Objects.requireNonNull(topics, "topics");
            tls = tls == null ? MqttTls.NONE : tls;
        }

        @Override
        public String toString() {
            return "FleetService.Settings[" + brokerUrl + ", clientId=" + clientId + ", username=" + username + "]";
        }
    }

    private final Settings settings;
    private final FleetRegistry registry;
    /** Null: provisioning off (registry, status, config and commands still work). */
    private final BrokerAccess access;
    /** The same object as access when the broker is Mosquitto with dynamic security. */
    private final DynSecAccess dynsec;
    private final Clock clock;
    private final WireCodec codec = new WireCodec();
    private final ThreadPoolExecutor worker;
    private final MqttSession session;
    /** Provisioning requests' own connection ({@code <fleet client id>-provision}); null without provisioning. */
    private final MqttSession requests;
    private final CountDownLatch ready = new CountDownLatch(1);
    private final Revocations revocations;
    private final DeviceControl control;
    private final Provisioning provisioning;
    private final RulesPublisher rules;
    /** Provisioning requests, apart from the rest of the fleet's messages. */
    private final ProvisionIntake intake;
    private final LongAdder messagesDropped = new LongAdder();
    private final LogBudget dropLines = LogBudget.tenAMinute();
    /** Told of every status after the registry noted it (the update rollout); on the fleet thread. */
    private volatile BiConsumer<String, DeviceStatus> statusListener = (id, s) -> { };

    private FleetService(Settings settings, FleetRegistry registry, BrokerAccess access, Clock clock,
            LongSupplier nanoTime) {
        this.settings = settings;
        this.registry = registry;
        this.access = access;
        this.dynsec = access instanceof DynSecAccess d ? d : null;
        this.clock = clock;
        this.worker = new ThreadPoolExecutor(1, 1, 0, TimeUnit.SECONDS, new ArrayBlockingQueue<>(1000),
                NamedThreads.of("fleet"), (task, pool) -> rejected(task));
        this.intake = new ProvisionIntake(worker, this::handleRequest, nanoTime);
        Topics topics = settings.topics();
        this.revocations = new Revocations(registry, access, topics, this::publish, clock, worker);
        this.control = new DeviceControl(registry, topics, this::publish, clock);
        this.provisioning = new Provisioning(registry, access, revocations, control, topics, this::publish,
                settings.trustedKeyLine(), clock);
        this.rules = new RulesPublisher(topics, this::publish, clock, worker, this::readyToPublish, this::admits,
                nanoTime);
        MqttConnectOptions o = MqttSession.options(settings.brokerUrl(), settings.tls(), settings.username(),
                settings.password(), true);
        o.setKeepAliveInterval(60); // Paho's default, which the fleet client always had
        MqttSession.Builder b = MqttSession.builder("fleet", "sink-fleet-connect")
                .client(settings.brokerUrl(), settings.clientId(), o)
                .subscribe(topics.allStatus(), 1)
                .subscribe(topics.allCommandAcks(), 1);
        if (dynsec != null) {
            b.subscribe(DynSecAccess.RESPONSE, 1);
        }
        this.session = b.backoff(new Backoff(MIN_BACKOFF, MAX_BACKOFF, () -> ThreadLocalRandom.current().nextDouble()))
                .handler(new Handler())
                .build();
        // Requests on a connection of their own: a broker queues each client's messages apart, and Mosquitto
        // drops what exceeds a client's queue (max_queued_messages), so a flood of requests on the fleet's
        // connection cost boxes their statuses and command acks (FleetIT). With dynamic security this
        // subscription is refused until the fleet's setup gave the sink its role; the session retries.
        this.requests = access == null ? null : MqttSession.builder("provision", "sink-provision-connect")
                .client(settings.brokerUrl(), settings.clientId() + "-provision", MqttSession.options(settings.brokerUrl(),
                        settings.tls(), settings.username(), settings.password(), true))
                .subscribe(topics.allProvisionRequests(), 1)
                .backoff(new Backoff(MIN_BACKOFF, MAX_BACKOFF, () -> ThreadLocalRandom.current().nextDouble()))
                .handler((topic, message) -> topics.nonceOf(topic).ifPresent(n -> intake.offer(n, message.getPayload())))
                .build();
    }

    /**
     * Starts connecting in the background.
     *
     * @param accessFactory makes the broker access from a publisher; null for no provisioning
     * @param nanoTime      a monotonic clock ({@code System::nanoTime} in production), for the catch-up throttle
     */
    public static FleetService start(Settings settings, FleetRegistry registry,
            Function<BiConsumer<String, byte[]>, BrokerAccess> accessFactory, Clock clock, LongSupplier nanoTime) {
        FleetService[] self = new FleetService[1];
        BrokerAccess access = accessFactory == null ? null : accessFactory.apply((t, p) -> self[0].publish(t, p, false));
        self[0] = new FleetService(settings, registry, access, clock, nanoTime);
        self[0].session.start();
        if (self[0].requests != null) {
            self[0].requests.start();
        }
        return self[0];
    }

    /** Waits until subscribed (and, with dynamic security, the sink's and the provisioning roles exist). */
    public boolean awaitReady(Duration timeout) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        return ready.await(timeout.toMillis(), TimeUnit.MILLISECONDS)
                && (requests == null || requests.awaitReady(Duration.ofNanos(Math.max(0, deadline - System.nanoTime()))));
    }

    public FleetRegistry registry() {
        return registry;
    }

    /** The connection's state and counts, for the metrics. */
    public MqttSession.Status connectionStatus() {
        return session.status();
    }

    /** The provisioning requests' connection's state and counts, for the metrics; empty without provisioning. */
    public Optional<MqttSession.Status> requestsConnectionStatus() {
        return Optional.ofNullable(requests).map(MqttSession::status);
    }

    // --- operations for HTTP and CLI

    public Claim createClaim(String location, int uses, Duration validFor) {
        return provisioning.createClaim(location, uses, validFor);
    }

    /** Changes the desired configuration and publishes it (retained), so an offline device gets it when it returns. */
    public Device setConfig(String deviceId, Map<String, String> changes) {
        return control.setConfig(deviceId, changes);
    }

    /** Sends a command (QoS 1, not retained) and records it; the gateway's ack completes the record. */
    public String sendCommand(String deviceId, String command, String argument) {
        return control.sendCommand(deviceId, command, argument);
    }

    /**
     * Sends an {@code update} command with a signed manifest (the gateway verifies it); the registry records the
     * version as its argument (the manifest does not fit there, and is the sink's own anyway).
     */
    public String sendUpdate(String deviceId, String version, String manifestJson) {
        return control.sendUpdate(deviceId, version, manifestJson);
    }

    /** Hears every status the registry noted, on the fleet thread (must not block for long). */
    public void onStatus(BiConsumer<String, DeviceStatus> listener) {
        this.statusListener = Objects.requireNonNull(listener, "listener");
    }

    /**
     * Allows one re-provisioning of a provisioned box that no longer has its key (a new SD card, a replaced
     * state directory), within {@link #APPROVAL_VALID}: its next provisioning request with a valid claim gets new
     * credentials, whatever key it carries, and that key is pinned from then on. Logged as a warning (the audit
     * trail of approvals); the registry keeps the deadline until the approval is used.
     *
     * @throws IllegalArgumentException no provisioned device of that id
     * @throws IllegalStateException    the device is revoked: it needs a new claim instead
     */
    public Device approveReprovisioning(String deviceId) {
        return provisioning.approveReprovisioning(deviceId);
    }

    /** Provisioning requests refused (and answered) since this sink started; WARN lines with the reason, ten a minute. */
    public long provisionRefusals() {
        return provisioning.refusals();
    }

    /** Provisioning requests dropped unread: beyond {@link ProvisionIntake}'s rate, someone flooding the public login. */
    public long provisionRequestsDropped() {
        return intake.dropped();
    }

    /** Provisioning requests let through to the fleet thread: each is answered. */
    long provisionRequestsAdmitted() {
        return intake.admitted();
    }

    /** Statuses, command acks and the fleet's own tasks dropped because the fleet thread's queue was full. */
    public long messagesDropped() {
        return messagesDropped.sum();
    }

    /** The fleet thread's queue is full: the provisioning drain is scheduled again by the next request; the rest is counted. */
    private void rejected(Runnable task) {
        if (task == intake.drain) {
            intake.rejected();
            return;
        }
        messagesDropped.increment();
        long skipped = dropLines.take();
        if (skipped >= 0) {
            Logger.warn("fleet queue full: a message was dropped{}", LogBudget.leftOut(skipped));
        }
    }

    /**
     * False for a revoked device: the ingest's gate, so that whatever still arrives from it is refused. Another
     * sink instance on the same database may revoke too; the list is read again at most every
     * {@link Revocations#REVOKED_REREAD} (on the fleet thread, never on the caller's), so its revocations count here too.
     */
    public boolean admits(String deviceId) {
        return revocations.admits(deviceId);
    }

    /**
     * Revokes a device: marked in the registry (from then on the ingest refuses its events), its broker
     * credentials and ACL deleted and its session ended, its retained desired config cleared. Idempotent.
     * Provisioning the same box again takes a new claim.
     *
     * @throws IllegalArgumentException no such device
     * @throws IllegalStateException    the broker did not delete the credentials (the registry says revoked; try again)
     */
    public Device revoke(String deviceId) {
        return revocations.revoke(deviceId);
    }

    /** The version of the counter rules this sink keeps retained for the boxes; 0 before {@link #publishRules}. */
    public long rulesVersion() {
        return rules.version();
    }

    /**
     * When a box reports a counter rules version above the one published (the database was restored from
     * before a change), {@code renumber} gives the rules a version past it, and they are published at once: the
     * box would ignore anything not newer than what it holds. It returns the database's rules (with the
     * version another sink gave them), or empty when the database holds other rules. Called on the fleet thread.
     */
    public void renumberRulesWith(LongFunction<Optional<CounterRules>> renumber) {
        rules.renumberWith(renumber);
    }

    /**
     * Keeps {@code r} retained (QoS 1) on {@code PREFIX/rules} for every box: now if connected, and again on
     * every (re)connect, so a broker restarted without its retained store gets it back.
     */
    public void publishRules(CounterRules r) {
        rules.publish(r);
    }

    // --- MQTT

    /** On the fleet thread after each (re)connect, once subscribed. */
    private void onConnected() {
        try {
            if (dynsec != null && !dynsec.bootstrap(settings.username(), settings.provisionUser(), settings.provisionPassword())) {
                return; // the broker disconnects us for the role change; the next connect finishes
            }
            Logger.info("fleet ready");
            ready.countDown();
            rules.publishNow();
        } catch (BrokerAccess.AccessException e) {
            Logger.error("fleet: cannot set up on {}: {}", settings.brokerUrl(), e.getMessage());
        }
    }

    /** Once ready: with dynamic security the sink's publish right exists only then. */
    private boolean readyToPublish() {
        return ready.getCount() == 0 && session.isConnected();
    }

    private void publish(String topic, byte[] payload, boolean retained) {
        try {
            session.publish(topic, payload, 1, retained);
        } catch (MqttException e) {
            throw new IllegalStateException("cannot publish to " + topic + " (" + e.getMessage() + "); is the broker up?", e);
        }
    }

    /** A provisioning request, on the fleet thread (through {@link ProvisionIntake}). */
    private void handleRequest(String nonce, byte[] payload) {
        try {
            provisioning.request(nonce, payload);
        } catch (RuntimeException e) {
            Logger.error(e, "fleet: handling the provisioning request {} failed", nonce);
        }
    }

    /** A status or a command ack, on the fleet thread. */
    private void handle(String topic, byte[] payload) {
        Topics topics = settings.topics();
        try {
            String deviceId = topics.deviceOf(topic).orElse(null);
            if (deviceId == null) {
                return;
            }
            if (topic.equals(topics.status(deviceId))) {
                if (payload.length == 0) {
                    return; // a cleared retained status
                }
                DeviceStatus s = codec.decodeStatus(payload);
                registry.noteStatus(deviceId, s.online(), new String(payload, StandardCharsets.UTF_8), clock.instant());
                if (s.rulesVersion() != null) {
                    rules.boxHolds(deviceId, s.rulesVersion());
                }
                statusListener.accept(deviceId, s);
            } else if (topic.equals(topics.commandAcks(deviceId))) {
                CommandAck a = codec.decode(payload, CommandAck.class);
                if (!registry.ackCommand(a.commandId(), deviceId, a.ok(), a.result(), clock.instant())) {
                    Logger.warn("fleet: ack for unknown command {} from {}", a.commandId(), deviceId);
                }
            }
        } catch (MalformedMessageException e) {
            Logger.warn("fleet: ignoring a malformed message on {}: {}", topic, e.getMessage());
        } catch (RuntimeException e) {
            Logger.error(e, "fleet: handling a message on {} failed", topic);
        }
    }

    @Override
    public void close() {
        worker.shutdown();
        if (requests != null) {
            requests.close();
        }
        session.close();
        try {
            worker.awaitTermination(500, TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        worker.shutdownNow();
    }

    private final class Handler implements MqttSession.Handler {
        @Override
        public void ready(long connection, boolean sessionKept) {
            worker.execute(FleetService.this::onConnected);
        }

        @Override
        public void messageArrived(String topic, MqttMessage message) {
            if (DynSecAccess.RESPONSE.equals(topic)) {
                if (dynsec != null) {
                    dynsec.onResponse(message.getPayload());
                }
                return;
            }
            byte[] payload = message.getPayload();
            worker.execute(() -> handle(topic, payload));
        }
    }
}
