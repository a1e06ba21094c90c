package app.sevenstamp.autopilot.sink.fleet;

import app.sevenstamp.autopilot.protocol.MalformedMessageException;
import app.sevenstamp.autopilot.protocol.ProvisionGrant;
import app.sevenstamp.autopilot.protocol.ProvisionRequest;
import app.sevenstamp.autopilot.protocol.ProvisionResponse;
import app.sevenstamp.autopilot.protocol.ProvisionSeal;
import app.sevenstamp.autopilot.protocol.Topics;
import app.sevenstamp.autopilot.protocol.WireCodec;
import app.sevenstamp.autopilot.protocol.support.LogBudget;
import app.sevenstamp.autopilot.sink.fleet.FleetRegistry.Claim;
import app.sevenstamp.autopilot.sink.fleet.FleetRegistry.Device;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Base64;
import java.util.HexFormat;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;
import org.tinylog.Logger;

/**
 * Claims and provisioning: an operator creates a claim (or approves one re-provisioning without the box's
 * key); a box's provisioning request is checked against its claim and its key, and answered with sealed broker
 * credentials, or refused with a reason.
 *
 * <p>Threads: {@link #request} on the fleet thread only; {@link #createClaim} and {@link #approveReprovisioning}
 * on the HTTP and CLI threads. The registry's transactions order them; no state here but a counter.
 */
final class Provisioning {
    /** How long an operator's approval of one re-provisioning without the box's key stays usable. */
    static final Duration APPROVAL_VALID = Duration.ofDays(1);

    private final FleetRegistry registry;
    private final BrokerAccess access;
    private final Revocations revocations;
    private final DeviceControl control;
    private final Topics topics;
    private final FleetPublisher publisher;
    private final String trustedKeyLine;
    private final Clock clock;
    private final SecureRandom random = new SecureRandom();
    private final WireCodec codec = new WireCodec();
    /** Provisioning requests refused since start (unknown or spent claim, no proof of the box's key, replay...). */
    private final AtomicLong refusals = new AtomicLong();
    private final LogBudget refusalLines = LogBudget.tenAMinute();

    /**
     * @param access         null: provisioning off (no request reaches {@link #request})
     * @param trustedKeyLine given to a freshly provisioned box unless its config says otherwise; null: none
     */
    Provisioning(FleetRegistry registry, BrokerAccess access, Revocations revocations, DeviceControl control,
            Topics topics, FleetPublisher publisher, String trustedKeyLine, Clock clock) {
        this.registry = registry;
        this.access = access;
        this.revocations = revocations;
        this.control = control;
        this.topics = topics;
        this.publisher = publisher;
        this.trustedKeyLine = trustedKeyLine;
        this.clock = clock;
    }

    Claim createClaim(String location, int uses, Duration validFor) {
        Topics.requireDeviceId(location);
        if ((location + "-").startsWith(EmbeddedAccess.PROVISION_CLIENT_PREFIX)) {
            // its devices' ids (location-<hex>) would be client ids of the provisioning account
            throw new IllegalArgumentException("location '" + location + "' must not be 'prov' or start with 'prov-': "
                    + "those are the client ids of boxes still provisioning");
        }
        byte[] b = new byte[15];
        random.nextBytes(b);
        String token = "clm_" + Base64.getUrlEncoder().withoutPadding().encodeToString(b);
        Instant now = clock.instant();
        Claim claim = new Claim(token, location, uses, uses, now.plus(validFor), now);
        registry.createClaim(claim);
        Logger.info("claim created for location {}: {} use(s), expires {}", location, uses, claim.expiresAt());
        return claim;
    }

    /** See {@link FleetService#approveReprovisioning}. */
    Device approveReprovisioning(String deviceId) {
        Topics.requireDeviceId(deviceId);
        Instant until = clock.instant().plus(APPROVAL_VALID);
        Device d = registry.approveReprovisioning(deviceId, until)
                .orElseThrow(() -> new IllegalArgumentException("no provisioned device " + deviceId));
        Logger.warn("fleet: operator approved one re-provisioning of device {} (hardware {}) without its key, until {}",
                deviceId, d.hardwareId(), until);
        return d;
    }

    long refusals() {
        return refusals.get();
    }

    /** A provisioning request on {@code PREFIX/provision/req/<nonce>}; fleet thread. */
    void request(String nonce, byte[] payload) {
        ProvisionRequest req;
        try {
            req = codec.decode(payload, ProvisionRequest.class);
        } catch (MalformedMessageException e) {
            long skipped = refusalLines.take();
            if (skipped >= 0) {
                Logger.warn("fleet: malformed provisioning request {}: {}{}", nonce, e.getMessage(), LogBudget.leftOut(skipped));
            }
            return;
        }
        if (!nonce.equals(req.nonce()) || req.hardwareId().isBlank() || req.hardwareId().length() > 128) {
            refuse(nonce, "?", "malformed request");
            return;
        }
        if (req.publicKey() != null && !req.signatureValid()) {
            refuse(nonce, req.hardwareId(), "the request's signature does not match its public key");
            return;
        }
        String password = Passwords.generate(random);
        // the key only once its signature verified: the registry pins it or compares it with the pinned one
        FleetRegistry.Decision decision = registry.provision(req.claimToken(), req.hardwareId(), req.publicKey(), nonce,
                clock.instant(), () -> Passwords.hash(password, random), location -> deviceId(location, req.hardwareId()));
        if (decision instanceof FleetRegistry.Refused r) {
            refuse(nonce, req.hardwareId(), r.reason());
            return;
        }
        FleetRegistry.Granted g = (FleetRegistry.Granted) decision;
        try {
            access.grant(g.deviceId(), password);
        } catch (BrokerAccess.AccessException e) {
            Logger.error("fleet: cannot create broker credentials for {}: {}", g.deviceId(), e.getMessage());
            refuse(nonce, req.hardwareId(), "the sink cannot create broker credentials right now; try again later");
            return;
        }
        revocations.provisioned(g.deviceId());
        Device d = registry.device(g.deviceId()).orElseThrow();
        if (g.fresh() && trustedKeyLine != null && !d.desiredConfig().containsKey("cards.trustedKeys")) {
            d = registry.updateConfig(g.deviceId(), Map.of("cards.trustedKeys", trustedKeyLine));
        }
        control.publishConfig(d);
        ProvisionGrant grant = new ProvisionGrant(WireCodec.SCHEMA, d.deviceId(), g.location(), d.deviceId(), password,
                d.desiredVersion(), d.desiredConfig());
        String sealed = ProvisionSeal.seal(req.responseKey(), nonce, codec.encode(grant), random);
        publisher.publish(topics.provisionResponse(nonce),
                codec.encode(new ProvisionResponse(WireCodec.SCHEMA, nonce, true, null, sealed)), false);
        Logger.info("fleet: {} device {} at {} for hardware {} ({}, {})", g.fresh() ? "provisioned" : "re-provisioned (new password)",
                g.deviceId(), g.location(), req.hardwareId(), g.basis(),
                req.publicKey() == null ? "no device key: an older gateway" : "device key " + req.publicKey());
    }

    /**
     * Answers a refusal. Logged within a budget: refusals are what a stranger with the public login
     * can cause at will ({@link ProvisionIntake} bounds their rate, this their lines).
     */
    private void refuse(String nonce, String hardwareId, String reason) {
        refusals.incrementAndGet();
        long skipped = refusalLines.take();
        if (skipped >= 0) {
            Logger.warn("fleet: refused provisioning of hardware {}: {}{}", hardwareId, reason, LogBudget.leftOut(skipped));
        }
        try {
            publisher.publish(topics.provisionResponse(nonce),
                    codec.encode(new ProvisionResponse(WireCodec.SCHEMA, nonce, false, reason, null)), false);
        } catch (RuntimeException e) {
            // the box asks again with a new nonce when unanswered
            if (skipped >= 0) {
                Logger.warn("fleet: the refusal to {} was not sent: {}", nonce, e.getMessage());
            }
        }
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
}
