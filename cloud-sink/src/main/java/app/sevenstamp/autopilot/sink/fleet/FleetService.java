package app.sevenstamp.autopilot.sink.fleet;

import app.sevenstamp.autopilot.protocol.CommandAck;
import app.sevenstamp.autopilot.protocol.CounterRules;
import app.sevenstamp.autopilot.protocol.DesiredConfig;
import app.sevenstamp.autopilot.protocol.DeviceCommand;
import app.sevenstamp.autopilot.protocol.DeviceStatus;
import app.sevenstamp.autopilot.protocol.MalformedMessageException;
import app.sevenstamp.autopilot.protocol.ProvisionGrant;
import app.sevenstamp.autopilot.protocol.ProvisionRequest;
import app.sevenstamp.autopilot.protocol.ProvisionResponse;
import app.sevenstamp.autopilot.protocol.ProvisionSeal;
import app.sevenstamp.autopilot.protocol.Topics;
import app.sevenstamp.autopilot.protocol.WireCodec;
import app.sevenstamp.autopilot.protocol.support.NamedThreads;
import app.sevenstamp.autopilot.sink.broker.BrokerConnect;
import app.sevenstamp.autopilot.sink.broker.ReconnectWatchdog;
import app.sevenstamp.autopilot.protocol.support.MqttTls;
import app.sevenstamp.autopilot.sink.broker.BrokerLogin;
import app.sevenstamp.autopilot.sink.fleet.FleetRegistry.Claim;
import app.sevenstamp.autopilot.sink.fleet.FleetRegistry.Device;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.function.LongFunction;
import org.eclipse.paho.client.mqttv3.IMqttDeliveryToken;
import org.eclipse.paho.client.mqttv3.MqttAsyncClient;
import org.eclipse.paho.client.mqttv3.MqttCallbackExtended;
import org.eclipse.paho.client.mqttv3.MqttConnectOptions;
import org.eclipse.paho.client.mqttv3.MqttException;
import org.eclipse.paho.client.mqttv3.MqttMessage;
import org.eclipse.paho.client.mqttv3.persist.MemoryPersistence;
import org.tinylog.Logger;

/**
 * The sink's side of fleet management: answers provisioning requests, keeps the device registry up to
 * date from the retained statuses and the command acks, and pushes desired configuration (retained)
 * and commands. It has its own MQTT client ({@code <mqtt.clientId>-fleet}) so that nothing here can
 * hold up the stamp ingest.
 *
 * <p>Threads: Paho's callback thread only hands messages to the single "fleet" thread (bounded queue;
 * a flood beyond it is dropped and logged) or completes a dynamic-security future. The fleet thread
 * does the H2 work and the broker calls, one message at a time.
 */
public final class FleetService implements AutoCloseable {
    /** Keys a sink may set on a gateway remotely; the gateway validates the values. */
    public static final Set<String> REMOTE_KEYS = Set.of("cards.programs", "cards.trustedKeys", "fleet.heartbeat",
            "log.level", "mqtt.keepAlive", "feedback.type");
    /** Commands the gateways understand. */
    public static final Set<String> COMMANDS = Set.of("identify", "restart", "flush", "log-level", "self-test");

    /**
     * @param access      null: provisioning off (registry, status, config and commands still work)
     * @param dynsec      the same object as access when the broker is Mosquitto with dynamic security
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
    private final BrokerAccess access;
    private final DynSecAccess dynsec;
    private final Clock clock;
    private final WireCodec codec = new WireCodec();
    private final SecureRandom random = new SecureRandom();
    private final MqttAsyncClient client;
    private final ThreadPoolExecutor worker;
    private final ReconnectWatchdog watchdog;
    private final CountDownLatch ready = new CountDownLatch(1);
    /** Revoked device ids, read by the ingest for every event: kept in memory, loaded at start. */
    private final Set<String> revoked = ConcurrentHashMap.newKeySet();
    /** How stale the revoked list may get when another sink instance revokes a device. */
    static final Duration REVOKED_REREAD = Duration.ofSeconds(10);
    /** Paho's connection timeout (TCP connect, TLS handshake; the CONNACK wait is bounded by BrokerConnect). */
    private static final int CONNECT_TIMEOUT_S = 10;
    /** Paho's automatic reconnect backs off up to this; the reconnect watchdog waits it out first. */
    private static final int MAX_RECONNECT_DELAY_MS = 30_000;
    private volatile Instant revokedReadAt;
    private volatile boolean closing;
    /** The counter rules to keep retained on PREFIX/rules; null until {@link #publishRules}. */
    private volatile CounterRules rules;
    /** Numbers the rules past a version a box holds, if the database agrees; null: boxes ahead are ignored. */
    private volatile LongFunction<Optional<CounterRules>> renumber;
    /** When this sink last looked at a box ahead (System.nanoTime), so that one box cannot drive the fleet. */
    private long lastCatchUpNanos;
    private boolean caughtUpOnce;
    /** Devices already warned about a rules version in the future, so a bad box logs once. */
    private final Set<String> warnedFuture = ConcurrentHashMap.newKeySet();
    /** How far ahead of this sink's clock a box's rules version may be and still be believed. */
    static final Duration RULES_SKEW = Duration.ofDays(1);
    /**
     * At most one look at a box ahead per this time: each renumbering rewrites the rules file on every box, so a
     * broken or hostile box reporting ever higher versions costs the fleet at most six rewrites an hour.
     */
    static final Duration CATCH_UP_EVERY = Duration.ofMinutes(10);
    /** How long an operator's approval of one re-provisioning without the box's key stays usable. */
    public static final Duration APPROVAL_VALID = Duration.ofDays(1);
    /** Told of every status after the registry noted it (the update rollout); on the fleet thread. */
    private volatile java.util.function.BiConsumer<String, DeviceStatus> statusListener = (id, s) -> { };
    /** Provisioning requests refused since start (unknown or spent claim, no proof of the box's key, replay...). */
    private final java.util.concurrent.atomic.AtomicLong provisionRefusals = new java.util.concurrent.atomic.AtomicLong();

    private FleetService(Settings settings, FleetRegistry registry, BrokerAccess access, Clock clock) throws MqttException {
        this.settings = settings;
        this.registry = registry;
        this.access = access;
        this.dynsec = access instanceof DynSecAccess d ? d : null;
        this.clock = clock;
        this.revoked.addAll(registry.revokedIds());
        this.revokedReadAt = clock.instant();
        this.client = new MqttAsyncClient(settings.brokerUrl(), settings.clientId(), new MemoryPersistence());
        this.worker = new ThreadPoolExecutor(1, 1, 0, TimeUnit.SECONDS, new ArrayBlockingQueue<>(1000),
                NamedThreads.of("fleet"), (task, pool) -> Logger.warn("fleet queue full: a message was dropped"));
        this.watchdog = new ReconnectWatchdog("fleet", client, MAX_RECONNECT_DELAY_MS, CONNECT_TIMEOUT_S);
    }

    /**
     * Starts connecting in the background.
     *
     * @param accessFactory makes the broker access from a publisher; null for no provisioning
     */
    public static FleetService start(Settings settings, FleetRegistry registry,
            java.util.function.Function<java.util.function.BiConsumer<String, byte[]>, BrokerAccess> accessFactory,
            Clock clock) {
        FleetService[] self = new FleetService[1];
        BrokerAccess access = accessFactory == null ? null : accessFactory.apply((t, p) -> self[0].publish(t, p, false));
        try {
            self[0] = new FleetService(settings, registry, access, clock);
        } catch (MqttException e) {
            throw new IllegalArgumentException("cannot create the fleet MQTT client for " + settings.brokerUrl(), e);
        }
        FleetService fleet = self[0];
        fleet.client.setCallback(fleet.new Callback());
        fleet.worker.execute(fleet::connect);
        return fleet;
    }

    /** Waits until subscribed (and, with dynamic security, the sink's and the provisioning roles exist). */
    public boolean awaitReady(Duration timeout) throws InterruptedException {
        return ready.await(timeout.toMillis(), TimeUnit.MILLISECONDS);
    }

    public FleetRegistry registry() {
        return registry;
    }

    // --- operations for HTTP and CLI

    public Claim createClaim(String location, int uses, Duration validFor) {
        Topics.requireDeviceId(location);
        if ((location + "-").startsWith(EmbeddedAccess.PROVISION_CLIENT_PREFIX)) {
            // its devices' ids (location-<hex>) would be client ids of the provisioning account
            throw new IllegalArgumentException("location '" + location + "' must not be 'prov' or start with 'prov-': "
                    + "those are the client ids of boxes still provisioning");
        }
        byte[] b = new byte[15];
        random.nextBytes(b);
        String token = "clm_" + java.util.Base64.getUrlEncoder().withoutPadding().encodeToString(b);
        Instant now = clock.instant();
        Claim claim = new Claim(token, location, uses, uses, now.plus(validFor), now);
        registry.createClaim(claim);
        Logger.info("claim created for location {}: {} use(s), expires {}", location, uses, claim.expiresAt());
        return claim;
    }

    /** Changes the desired configuration and publishes it (retained), so an offline device gets it when it returns. */
    public Device setConfig(String deviceId, Map<String, String> changes) {
        Topics.requireDeviceId(deviceId);
        for (String key : changes.keySet()) {
            if (!REMOTE_KEYS.contains(key)) {
                throw new IllegalArgumentException("key '" + key + "' cannot be set remotely; allowed: "
                        + String.join(", ", new java.util.TreeSet<>(REMOTE_KEYS)));
            }
        }
        Device d = registry.updateConfig(deviceId, changes);
        publishConfig(d);
        return d;
    }

    /** Sends a command (QoS 1, not retained) and records it; the gateway's ack completes the record. */
    public String sendCommand(String deviceId, String command, String argument) {
        Topics.requireDeviceId(deviceId);
        if (!COMMANDS.contains(command)) {
            throw new IllegalArgumentException("unknown command '" + command + "'; commands: "
                    + String.join(", ", new java.util.TreeSet<>(COMMANDS)));
        }
        String id = "c-" + UUID.randomUUID();
        Instant now = clock.instant();
        registry.addCommand(new FleetRegistry.Command(id, deviceId, command, argument, now, null, null, null));
        publish(settings.topics().commands(deviceId),
                codec.encode(new DeviceCommand(WireCodec.SCHEMA, id, deviceId, command, argument, now)), false);
        return id;
    }

    /**
     * Sends an {@code update} command with a signed manifest (the gateway verifies it); the registry records the
     * version as its argument (the manifest does not fit there, and is the sink's own anyway).
     */
    public String sendUpdate(String deviceId, String version, String manifestJson) {
        Topics.requireDeviceId(deviceId);
        String id = "c-" + UUID.randomUUID();
        Instant now = clock.instant();
        registry.addCommand(new FleetRegistry.Command(id, deviceId, "update", version, now, null, null, null));
        publish(settings.topics().commands(deviceId),
                codec.encode(new DeviceCommand(WireCodec.SCHEMA, id, deviceId, "update", manifestJson, now)), false);
        return id;
    }

    /** Hears every status the registry noted, on the fleet thread (must not block for long). */
    public void onStatus(java.util.function.BiConsumer<String, DeviceStatus> listener) {
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
        Topics.requireDeviceId(deviceId);
        Instant until = clock.instant().plus(APPROVAL_VALID);
        Device d = registry.approveReprovisioning(deviceId, until)
                .orElseThrow(() -> new IllegalArgumentException("no provisioned device " + deviceId));
        Logger.warn("fleet: operator approved one re-provisioning of device {} (hardware {}) without its key, until {}",
                deviceId, d.hardwareId(), until);
        return d;
    }

    /** Provisioning requests refused since this sink started; each also has a WARN line with its reason. */
    public long provisionRefusals() {
        return provisionRefusals.get();
    }

    /**
     * False for a revoked device: the ingest's gate, so that whatever still arrives from it is refused. Another
     * sink instance on the same database may revoke too; the list is read again at most every
     * {@link #REVOKED_REREAD} (on the fleet thread, never on the caller's), so its revocations count here too.
     */
    public boolean admits(String deviceId) {
        Instant now = clock.instant();
        if (now.isAfter(revokedReadAt.plus(REVOKED_REREAD))) {
            revokedReadAt = now; // before the read: two callers at once cost at most one more read
            worker.execute(this::rereadRevoked);
        }
        return !revoked.contains(deviceId);
    }

    private void rereadRevoked() {
        try {
            java.util.Set<String> now = registry.revokedIds();
            revoked.addAll(now);
            revoked.retainAll(now); // a box provisioned again elsewhere is admitted again
        } catch (RuntimeException e) {
            Logger.warn("fleet: cannot read the revoked devices again ({}); keeping the list I have", e.getMessage());
        }
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
        Topics.requireDeviceId(deviceId);
        Device d = registry.revoke(deviceId, clock.instant())
                .orElseThrow(() -> new IllegalArgumentException("no device " + deviceId));
        revoked.add(deviceId);
        if (access != null) {
            try {
                access.revoke(deviceId);
            } catch (BrokerAccess.AccessException e) {
                throw new IllegalStateException("device " + deviceId + " is revoked in the registry, but the broker "
                        + "credentials were not deleted (" + e.getMessage() + "); revoke it again", e);
            }
        }
        try {
            publish(settings.topics().config(deviceId), new byte[0], true);
        } catch (IllegalStateException e) {
            Logger.warn("fleet: the retained config of revoked device {} stays on the broker: {}", deviceId, e.getMessage());
        }
        Logger.warn("fleet: device {} (hardware {}) revoked; its broker credentials are deleted", deviceId, d.hardwareId());
        return d;
    }

    // --- MQTT

    private void connect() {
        MqttConnectOptions o = new MqttConnectOptions();
        o.setCleanSession(true);
        o.setAutomaticReconnect(true);
        o.setMaxReconnectDelay(MAX_RECONNECT_DELAY_MS);
        o.setMqttVersion(MqttConnectOptions.MQTT_VERSION_3_1_1);
        BrokerLogin.apply(o, settings.brokerUrl(), settings.tls(), settings.username(), settings.password());
        o.setConnectionTimeout(CONNECT_TIMEOUT_S);
        long delay = 500;
        while (!closing) {
            try {
                BrokerConnect.connect(client, o); // bounded, and dropped when the broker never answers
                return; // connectComplete subscribes
            } catch (MqttException e) {
                Logger.warn("fleet: cannot connect to {} ({}); retrying in {} ms", settings.brokerUrl(), e.getMessage(), delay);
                try {
                    Thread.sleep(delay); // the fleet thread has nothing else to do before the first connect
                } catch (InterruptedException ie) {
                    Thread.currentThread().interrupt();
                    return;
                }
                delay = Math.min(30_000, delay * 2);
            }
        }
    }

    private void onConnected() {
        try {
            List<String> filters = new ArrayList<>(List.of(settings.topics().allStatus(), settings.topics().allCommandAcks()));
            if (access != null) {
                filters.add(settings.topics().allProvisionRequests());
            }
            if (dynsec != null) {
                filters.add(DynSecAccess.RESPONSE);
            }
            int[] qos = filters.stream().mapToInt(f -> 1).toArray();
            client.subscribe(filters.toArray(String[]::new), qos).waitForCompletion(10_000);
            if (dynsec != null && !dynsec.bootstrap(settings.username(), settings.provisionUser(), settings.provisionPassword())) {
                return; // the broker disconnects us for the role change; the next connectComplete finishes
            }
            Logger.info("fleet ready: subscribed to {}", filters);
            ready.countDown();
            publishRulesNow();
        } catch (MqttException | BrokerAccess.AccessException e) {
            Logger.error("fleet: cannot set up on {}: {}", settings.brokerUrl(), e.getMessage());
        }
    }

    /** The version of the counter rules this sink keeps retained for the boxes; 0 before {@link #publishRules}. */
    public long rulesVersion() {
        CounterRules r = rules;
        return r == null ? 0 : r.version();
    }

    /**
     * When a box reports a counter rules version above the one published (the database was restored from
     * before a change), {@code renumber} gives the rules a version past it, and they are published at once: the
     * box would ignore anything not newer than what it holds. It returns the database's rules (with the
     * version another sink gave them), or empty when the database holds other rules. Called on the fleet thread.
     */
    public void renumberRulesWith(LongFunction<Optional<CounterRules>> renumber) {
        this.renumber = Objects.requireNonNull(renumber, "renumber");
    }

    /**
     * Keeps {@code r} retained (QoS 1) on {@code PREFIX/rules} for every box: now if connected, and again on
     * every (re)connect, so a broker restarted without its retained store gets it back.
     */
    public void publishRules(CounterRules r) {
        rules = Objects.requireNonNull(r, "rules");
        worker.execute(this::publishRulesNow);
    }

    /** On the fleet thread, once ready (with dynamic security the sink's publish right exists only then). */
    private void publishRulesNow() {
        CounterRules r = rules;
        if (r == null || ready.getCount() > 0 || !client.isConnected()) {
            return;
        }
        try {
            publish(settings.topics().rules(), codec.encode(r), true);
            Logger.info("fleet: counter rules version {} published (retained) for {} program(s)", r.version(),
                    r.programs().size());
        } catch (RuntimeException e) {
            Logger.warn("fleet: counter rules not published now ({}); again at the next connect", e.getMessage());
        }
    }

    private void publish(String topic, byte[] payload, boolean retained) {
        try {
            client.publish(topic, payload, 1, retained);
        } catch (MqttException e) {
            throw new IllegalStateException("cannot publish to " + topic + " (" + e.getMessage() + "); is the broker up?", e);
        }
    }

    private void publishConfig(Device d) {
        publish(settings.topics().config(d.deviceId()),
                codec.encode(new DesiredConfig(WireCodec.SCHEMA, d.deviceId(), d.desiredVersion(), d.desiredConfig())), true);
    }

    private void handle(String topic, byte[] payload) {
        Topics topics = settings.topics();
        try {
            if (topics.nonceOf(topic).isPresent()) {
                provision(topics.nonceOf(topic).get(), payload);
                return;
            }
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
                    catchUpRules(deviceId, s.rulesVersion());
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

    /**
     * A box holding newer counter rules than published ignores ours: number them past its version. Only for a
     * device this sink admits, not further than a day ahead of the sink's clock, and at most once per
     * {@link #CATCH_UP_EVERY}; the database decides (in {@code renumber}) whether there is anything to do, so
     * several sinks on one database number past a box once between them. Fleet thread only.
     */
    private void catchUpRules(String deviceId, long held) {
        CounterRules published = rules;
        LongFunction<Optional<CounterRules>> next = renumber;
        if (published == null || next == null || held <= published.version() || !admits(deviceId)) {
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
        long now = System.nanoTime();
        if (caughtUpOnce && now - lastCatchUpNanos < CATCH_UP_EVERY.toNanos()) {
            return;
        }
        caughtUpOnce = true;
        lastCatchUpNanos = now;
        Optional<CounterRules> current = next.apply(held);
        if (current.isPresent() && current.get().version() > published.version()) {
            Logger.warn("fleet: {} held counter rules version {}, newer than the published {}; publishing version {}",
                    deviceId, held, published.version(), current.get().version());
            publishRules(current.get());
        }
    }

    private void provision(String nonce, byte[] payload) {
        ProvisionRequest req;
        try {
            req = codec.decode(payload, ProvisionRequest.class);
        } catch (MalformedMessageException e) {
            Logger.warn("fleet: malformed provisioning request {}: {}", nonce, e.getMessage());
            return;
        }
        if (!nonce.equals(req.nonce()) || req.hardwareId().isBlank() || req.hardwareId().length() > 128) {
            refuse(nonce, "malformed request");
            return;
        }
        if (req.publicKey() != null && !req.signatureValid()) {
            Logger.warn("fleet: refused provisioning of hardware {}: the signature does not match the request's key",
                    req.hardwareId());
            refuse(nonce, "the request's signature does not match its public key");
            return;
        }
        String password = Passwords.generate(random);
        // the key only once its signature verified: the registry pins it or compares it with the pinned one
        FleetRegistry.Decision decision = registry.provision(req.claimToken(), req.hardwareId(), req.publicKey(), nonce,
                clock.instant(), Passwords.hash(password, random), location -> deviceId(location, req.hardwareId()));
        if (decision instanceof FleetRegistry.Refused r) {
            Logger.warn("fleet: refused provisioning of hardware {}: {}", req.hardwareId(), r.reason());
            refuse(nonce, r.reason());
            return;
        }
        FleetRegistry.Granted g = (FleetRegistry.Granted) decision;
        try {
            access.grant(g.deviceId(), password);
        } catch (BrokerAccess.AccessException e) {
            Logger.error("fleet: cannot create broker credentials for {}: {}", g.deviceId(), e.getMessage());
            refuse(nonce, "the sink cannot create broker credentials right now; try again later");
            return;
        }
        revoked.remove(g.deviceId()); // a revoked box that came back with a new claim
        Device d = registry.device(g.deviceId()).orElseThrow();
        if (g.fresh() && settings.trustedKeyLine() != null && !d.desiredConfig().containsKey("cards.trustedKeys")) {
            d = registry.updateConfig(g.deviceId(), Map.of("cards.trustedKeys", settings.trustedKeyLine()));
        }
        publishConfig(d);
        ProvisionGrant grant = new ProvisionGrant(WireCodec.SCHEMA, d.deviceId(), g.location(), d.deviceId(), password,
                d.desiredVersion(), d.desiredConfig());
        String sealed = ProvisionSeal.seal(req.responseKey(), nonce, codec.encode(grant), random);
        publish(settings.topics().provisionResponse(nonce),
                codec.encode(new ProvisionResponse(WireCodec.SCHEMA, nonce, true, null, sealed)), false);
        Logger.info("fleet: {} device {} at {} for hardware {} ({}, {})", g.fresh() ? "provisioned" : "re-provisioned (new password)",
                g.deviceId(), g.location(), req.hardwareId(), g.basis(),
                req.publicKey() == null ? "no device key: an older gateway" : "device key " + req.publicKey());
    }

    private void refuse(String nonce, String reason) {
        provisionRefusals.incrementAndGet();
        publish(settings.topics().provisionResponse(nonce),
                codec.encode(new ProvisionResponse(WireCodec.SCHEMA, nonce, false, reason, null)), false);
    }

    /** {@code <location>-<6 hex of SHA-256(hardware id)>}: stable for a box, and says where it stands. */
    static String deviceId(String location, String hardwareId) {
        try {
            byte[] h = MessageDigest.getInstance("SHA-256").digest(hardwareId.getBytes(StandardCharsets.UTF_8));
            String loc = location.length() > 50 ? location.substring(0, 50) : location;
            return loc + "-" + HexFormat.of().formatHex(h, 0, 3);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    @Override
    public void close() {
        closing = true;
        watchdog.close();
        worker.shutdown();
        try {
            if (client.isConnected()) {
                client.disconnect(200).waitForCompletion(500);
            }
        } catch (MqttException e) {
            Logger.debug("fleet disconnect: {}", e.getMessage());
        }
        try {
            client.disconnectForcibly(0, 100, false);
            client.close(true);
        } catch (MqttException e) {
            Logger.debug("fleet close: {}", e.getMessage());
        }
        try {
            worker.awaitTermination(500, TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        worker.shutdownNow();
    }

    private final class Callback implements MqttCallbackExtended {
        @Override
        public void connectComplete(boolean reconnect, String serverURI) {
            watchdog.connected();
            worker.execute(FleetService.this::onConnected);
        }

        @Override
        public void connectionLost(Throwable cause) {
            watchdog.lost();
            Logger.warn("fleet: lost the connection to {} ({}); Paho reconnects", settings.brokerUrl(),
                    cause == null ? "no reason" : cause.getMessage());
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

        @Override
        public void deliveryComplete(IMqttDeliveryToken token) {
            // nothing: QoS 1 to the broker is all a command or a config needs
        }
    }
}
