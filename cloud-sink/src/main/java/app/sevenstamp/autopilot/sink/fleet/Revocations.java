package app.sevenstamp.autopilot.sink.fleet;

import app.sevenstamp.autopilot.protocol.Topics;
import app.sevenstamp.autopilot.sink.fleet.FleetRegistry.Device;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executor;
import org.tinylog.Logger;

/**
 * Which devices are revoked, and revoking one. The ingest asks {@link #admits} for every event, so the revoked
 * ids are kept in memory, loaded at start and read again from the registry at most every
 * {@link #REVOKED_REREAD} so that another sink instance's revocations count here too.
 *
 * <p>Threads: {@link #admits} on any thread (the ingest, the redeem thread, HTTP); the re-read runs on the
 * fleet thread, never on the caller's. The set is concurrent; no lock.
 */
final class Revocations {
    /** How stale the revoked list may get when another sink instance revokes a device. */
    static final Duration REVOKED_REREAD = Duration.ofSeconds(10);

    private final FleetRegistry registry;
    private final BrokerAccess access;
    private final Topics topics;
    private final FleetPublisher publisher;
    private final Clock clock;
    private final Executor fleetThread;
    private final Set<String> revoked = ConcurrentHashMap.newKeySet();
    private volatile Instant readAt;

    /** @param access null: provisioning off, no broker credentials to delete */
    Revocations(FleetRegistry registry, BrokerAccess access, Topics topics, FleetPublisher publisher, Clock clock,
            Executor fleetThread) {
        this.registry = registry;
        this.access = access;
        this.topics = topics;
        this.publisher = publisher;
        this.clock = clock;
        this.fleetThread = fleetThread;
        this.revoked.addAll(registry.revokedIds());
        this.readAt = clock.instant();
    }

    /** False for a revoked device: the ingest's gate. */
    boolean admits(String deviceId) {
        Instant now = clock.instant();
        if (now.isAfter(readAt.plus(REVOKED_REREAD))) {
            readAt = now; // before the read: two callers at once cost at most one more read
            fleetThread.execute(this::reread);
        }
        return !revoked.contains(deviceId);
    }

    /** A revoked box that came back with a new claim. */
    void provisioned(String deviceId) {
        revoked.remove(deviceId);
    }

    private void reread() {
        try {
            Set<String> now = registry.revokedIds();
            revoked.addAll(now);
            revoked.retainAll(now); // a box provisioned again elsewhere is admitted again
        } catch (RuntimeException e) {
            Logger.warn("fleet: cannot read the revoked devices again ({}); keeping the list I have", e.getMessage());
        }
    }

    /**
     * Marks the device revoked in the registry, deletes its broker credentials and ACL (ending its session) and
     * clears its retained desired config. Idempotent.
     *
     * @throws IllegalArgumentException no such device
     * @throws IllegalStateException    the broker did not delete the credentials (the registry says revoked; try again)
     */
    Device revoke(String deviceId) {
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
            publisher.publish(topics.config(deviceId), new byte[0], true);
        } catch (IllegalStateException e) {
            Logger.warn("fleet: the retained config of revoked device {} stays on the broker: {}", deviceId, e.getMessage());
        }
        Logger.warn("fleet: device {} (hardware {}) revoked; its broker credentials are deleted", deviceId, d.hardwareId());
        return d;
    }
}
