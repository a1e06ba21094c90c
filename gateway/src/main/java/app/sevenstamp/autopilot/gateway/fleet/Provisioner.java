package app.sevenstamp.autopilot.gateway.fleet;

import app.sevenstamp.autopilot.protocol.MalformedMessageException;
import app.sevenstamp.autopilot.protocol.ProvisionGrant;
import app.sevenstamp.autopilot.protocol.ProvisionRequest;
import app.sevenstamp.autopilot.protocol.ProvisionResponse;
import app.sevenstamp.autopilot.protocol.ProvisionSeal;
import app.sevenstamp.autopilot.protocol.Topics;
import app.sevenstamp.autopilot.protocol.WireCodec;
import app.sevenstamp.autopilot.protocol.support.Backoff;
import app.sevenstamp.autopilot.protocol.support.MqttTls;
import app.sevenstamp.autopilot.protocol.support.PahoLog;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.Base64;
import java.util.Objects;
import java.util.Properties;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.DoubleSupplier;
import org.eclipse.paho.client.mqttv3.MqttClient;
import org.eclipse.paho.client.mqttv3.MqttConnectOptions;
import org.eclipse.paho.client.mqttv3.MqttException;
import org.eclipse.paho.client.mqttv3.persist.MemoryPersistence;
import org.tinylog.Logger;

/**
 * First start of a box that carries only a claim: ask the sink for an identity over the shared
 * provisioning account ({@code PREFIX/provision/req/{nonce}} and {@code .../resp/{nonce}}), store what
 * comes back (mode 600) and let the gateway start as itself. Runs before the daemon; blocks.
 */
public final class Provisioner {
    /** The first retry waits 0.5-1 s, the later ones up to a minute ({@link #provisionInto}). */
    static final Duration RETRY_MIN = Duration.ofMillis(500);
    static final Duration RETRY_MAX = Duration.ofSeconds(60);

    private final String url;
    private final MqttTls tls;
    private final Topics topics;
    private final FleetSettings settings;
    private final String hardwareId;
    /** The 32-byte seed of the box's Ed25519 key ({@link DeviceKey}): signs each request, never sent. */
    private final byte[] deviceKey;
    private final String version;
    private final WireCodec codec = new WireCodec();
    private final SecureRandom random = new SecureRandom();
    private final Sleeper sleeper;
    private final DoubleSupplier jitter;

    /** Waits between attempts; passed in so that a test of the retries does not wait in real time. */
    @FunctionalInterface
    public interface Sleeper {
        Sleeper REAL = d -> Thread.sleep(d.toMillis());

        void sleep(Duration duration) throws InterruptedException;
    }

    /** The sink said no: provisioning again with the same claim cannot help. */
    public static final class RefusedException extends Exception {
        private static final long serialVersionUID = 1L;

        public RefusedException(String message) {
            super(message);
        }
    }

    /**
     * @param deviceKey the private key's seed from {@link DeviceKey#loadOrCreate}
     * @param tls       the CA (and client certificate) of {@code mqtt.tls.*}, used for an ssl:// url
     * @param sleeper   waits between attempts
     * @param jitter    uniform in [0, 1), for the jitter of those waits
     */
    public Provisioner(String url, Topics topics, FleetSettings settings, String hardwareId, byte[] deviceKey,
            String version, MqttTls tls, Sleeper sleeper, DoubleSupplier jitter) {
        this.sleeper = Objects.requireNonNull(sleeper, "sleeper");
        this.jitter = Objects.requireNonNull(jitter, "jitter");
        this.tls = tls;
        this.url = url;
        this.topics = topics;
        this.settings = settings;
        this.hardwareId = hardwareId;
        this.deviceKey = deviceKey.clone();
        this.version = version;
    }

    /**
     * One attempt: connect, ask, wait for the answer.
     *
     * @throws RefusedException when the sink refuses the claim
     * @throws MqttException    or a {@link TimeoutException} when the broker or the sink is unreachable: try again
     */
    public ProvisionGrant attempt() throws RefusedException, MqttException, TimeoutException, InterruptedException {
        byte[] n = new byte[16];
        random.nextBytes(n);
        String nonce = Base64.getUrlEncoder().withoutPadding().encodeToString(n);
        String key = ProvisionSeal.newKey(random);
        // the one client id the broker lets the shared account use (see ProvisionRequest.clientId)
        PahoLog.install();
        MqttClient client = new MqttClient(url, ProvisionRequest.clientId(settings.provisionUsername()),
                new MemoryPersistence());
        // Paho's blocking calls wait forever by default; a box that lost the shared id mid-CONNECT or
        // mid-SUBSCRIBE to another box must not hang (measured: two of four boxes stuck 90 s)
        client.setTimeToWait(settings.provisionTimeout().toMillis());
        CompletableFuture<ProvisionResponse> answer = new CompletableFuture<>();
        client.setCallback(new org.eclipse.paho.client.mqttv3.MqttCallback() {
            @Override
            public void connectionLost(Throwable cause) {
                // most likely another box provisioning right now took the shared client id: try again soon,
                // instead of waiting out provision.timeout for an answer this session can no longer get
                answer.completeExceptionally(cause instanceof MqttException m ? m
                        : new MqttException(MqttException.REASON_CODE_CONNECTION_LOST, cause));
            }

            @Override
            public void messageArrived(String topic, org.eclipse.paho.client.mqttv3.MqttMessage message) {
            }

            @Override
            public void deliveryComplete(org.eclipse.paho.client.mqttv3.IMqttDeliveryToken token) {
            }
        });
        try {
            MqttConnectOptions o = new MqttConnectOptions();
            o.setCleanSession(true);
            o.setMqttVersion(MqttConnectOptions.MQTT_VERSION_3_1_1);
            o.setSocketFactory(tls.socketFactory(url));
            o.setHttpsHostnameVerificationEnabled(true);
            o.setConnectionTimeout((int) Math.max(1, settings.provisionTimeout().toSeconds()));
            o.setUserName(settings.provisionUsername());
            o.setPassword(settings.provisionPassword().toCharArray());
            client.connect(o);
            client.subscribe(topics.provisionResponse(nonce), 1, (topic, message) -> {
                try {
                    answer.complete(codec.decode(message.getPayload(), ProvisionResponse.class));
                } catch (MalformedMessageException e) {
                    Logger.warn("malformed provisioning response: {}", e.getMessage());
                }
            });
            ProvisionRequest req = new ProvisionRequest(WireCodec.SCHEMA, nonce, settings.claimToken(), hardwareId, key, version,
                    null, null).signedWith(deviceKey);
            client.publish(topics.provisionRequest(nonce), codec.encode(req), 1, false);
            ProvisionResponse r = answer.get(settings.provisionTimeout().toMillis(), TimeUnit.MILLISECONDS);
            if (!r.ok()) {
                throw new RefusedException(r.error());
            }
            try {
                return codec.decode(ProvisionSeal.open(key, nonce, r.sealed()), ProvisionGrant.class);
            } catch (MalformedMessageException e) {
                throw new RefusedException("the sink's grant could not be opened: " + e.getMessage());
            }
        } catch (ExecutionException e) {
            if (e.getCause() instanceof MqttException m) {
                throw m;
            }
            throw new IllegalStateException(e);
        } finally {
            try {
                if (client.isConnected()) {
                    client.disconnect(500);
                } else {
                    // A CONNECT the broker never answered is still pending after timeToWait (Paho does not bound
                    // the CONNACK wait) and close() refuses a pending connect: drop it, or every retry leaves a
                    // socket and Paho's threads behind (ProvisionerIT)
                    client.disconnectForcibly(0, 0, false);
                }
                client.close(true);
            } catch (MqttException e) {
                Logger.debug("closing the provisioning client: {}", e.toString());
            }
        }
    }

    /**
     * Attempts until granted or refused, with {@link Backoff}'s full jitter between 0.5 s and a bound that doubles
     * from 1 s to a minute; stores the identity and the initial config.
     */
    public ProvisionGrant provisionInto(Path stateDir) throws RefusedException, InterruptedException {
        Backoff backoff = new Backoff(RETRY_MIN, RETRY_MAX, jitter);
        // Backoff's first wait is exactly its minimum, the same on every box: skipped, because boxes that took the
        // shared client id from each other must not meet again at the first retry either
        backoff.next();
        while (true) {
            try {
                ProvisionGrant g = attempt();
                store(stateDir, g);
                Logger.info("provisioned as {} at {} (hardware {}); credentials stored in {}", g.deviceId(), g.location(),
                        hardwareId, stateDir.resolve(StateFiles.IDENTITY));
                return g;
            } catch (MqttException | TimeoutException e) {
                Duration wait = backoff.next();
                Logger.warn("provisioning at {} failed ({}); trying again in {} ms", url, e.toString(), wait.toMillis());
                sleeper.sleep(wait); // nothing else runs before the box has an identity
            }
        }
    }

    static void store(Path stateDir, ProvisionGrant g) {
        Properties id = new Properties();
        id.setProperty("device.id", g.deviceId());
        id.setProperty("device.location", g.location());
        id.setProperty("mqtt.clientId", g.deviceId());
        id.setProperty("mqtt.username", g.username());
        id.setProperty("mqtt.password", g.password());
        StateFiles.write(stateDir, StateFiles.IDENTITY, id);
        FleetAgent.storeConfig(stateDir, g.configVersion(), g.config());
    }

}
