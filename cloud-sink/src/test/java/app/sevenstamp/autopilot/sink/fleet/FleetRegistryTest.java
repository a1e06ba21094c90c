package app.sevenstamp.autopilot.sink.fleet;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import app.sevenstamp.autopilot.sink.fleet.FleetRegistry.Basis;
import app.sevenstamp.autopilot.sink.fleet.FleetRegistry.Claim;
import app.sevenstamp.autopilot.sink.fleet.FleetRegistry.Command;
import app.sevenstamp.autopilot.sink.fleet.FleetRegistry.Device;
import app.sevenstamp.autopilot.sink.fleet.FleetRegistry.Granted;
import app.sevenstamp.autopilot.sink.fleet.FleetRegistry.Refused;
import app.sevenstamp.autopilot.sink.store.SinkStore;
import app.sevenstamp.autopilot.sink.testing.Backend;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.Parameter;
import org.junit.jupiter.params.ParameterizedClass;
import org.junit.jupiter.params.provider.EnumSource;

/** The fleet registry's SQL on both databases: claims, provisioning decisions, revocation, config, status, commands. */
@ParameterizedClass
@EnumSource(Backend.class)
class FleetRegistryTest {
    /** Microseconds: what PostgreSQL keeps. */
    private static final Instant T0 = Instant.parse("2026-11-23T08:00:00.123456Z");

    @Parameter
    Backend backend;

    @TempDir
    Path dir;
    private SinkStore store;
    private FleetRegistry registry;

    @BeforeEach
    void open() {
        store = backend.fixture(dir).open();
        registry = new FleetRegistry(store);
    }

    @AfterEach
    void close() {
        store.close();
    }

    private FleetRegistry.Decision provision(String token, String hardwareId, Instant at) {
        return provision(token, hardwareId, "key-" + hardwareId, at);
    }

    /** @param key the request's verified public key, null for an old gateway's unsigned request */
    private FleetRegistry.Decision provision(String token, String hardwareId, String key, Instant at) {
        return registry.provision(token, hardwareId, key, null, at, "hash-" + hardwareId + "-" + at.getEpochSecond(),
                location -> location + "-" + hardwareId);
    }

    @Test
    void aClaimBindsNewHardwareUntilItsUsesAreGoneAndAKnownBoxWithItsKeyOnlyRotatesItsPassword() {
        registry.createClaim(new Claim("clm_a", "shop-1", 2, 2, T0.plus(Duration.ofDays(1)), T0));
        assertEquals(List.of(new Claim("clm_a", "shop-1", 2, 2, T0.plus(Duration.ofDays(1)), T0)), registry.claims());

        assertEquals(new Granted("shop-1-hw1", "shop-1", true, Basis.NEW_DEVICE), provision("clm_a", "hw1", T0));
        assertEquals(new Granted("shop-1-hw1", "shop-1", false, Basis.OWN_KEY), provision("clm_a", "hw1", T0.plusSeconds(5)),
                "the same box with its key again: same id, no use taken");
        assertEquals(new Granted("shop-1-hw2", "shop-1", true, Basis.NEW_DEVICE), provision("clm_a", "hw2", T0));
        assertEquals(new Refused("claim used up (2 of 2 uses)"), provision("clm_a", "hw3", T0));
        assertEquals(new Refused("unknown claim"), provision("clm_nope", "hw3", T0));
        assertEquals(new Refused("claim expired at " + T0.plus(Duration.ofDays(1))), provision("clm_a", "hw1", T0.plus(Duration.ofDays(1))));
        assertEquals(0, registry.claims().get(0).usesLeft());

        Device d = registry.device("shop-1-hw1").orElseThrow();
        assertEquals("hw1", d.hardwareId());
        assertEquals("clm_a", d.claimToken());
        assertEquals("hash-hw1-" + T0.plusSeconds(5).getEpochSecond(), d.passwordHash());
        assertEquals(T0.plusSeconds(5), d.provisionedAt());
        assertEquals(Map.of("shop-1-hw1", d.passwordHash(), "shop-1-hw2", "hash-hw2-" + T0.getEpochSecond()), registry.passwordHashes());
    }

    @Test
    void aNewDeviceIdAvoidsOneAlreadyTakenByAStatusOnlyDevice() {
        registry.noteStatus("shop-2-hw1", true, "{\"online\":true}", T0);
        registry.createClaim(new Claim("clm_b", "shop-2", 1, 1, T0.plus(Duration.ofDays(1)), T0));
        assertEquals(new Granted("shop-2-hw1-2", "shop-2", true, Basis.NEW_DEVICE), provision("clm_b", "hw1", T0));
        Device statusOnly = registry.device("shop-2-hw1").orElseThrow();
        assertTrue(statusOnly.online());
        assertNull(statusOnly.hardwareId());
        assertEquals(T0, statusOnly.lastSeenAt());
    }

    @Test
    void aRevokedDeviceLosesItsPasswordAndComesBackOnlyWithANewClaim() {
        registry.createClaim(new Claim("clm_c", "shop-3", 5, 5, T0.plus(Duration.ofDays(1)), T0));
        provision("clm_c", "hw1", T0);
        registry.noteStatus("shop-3-hw1", true, "{}", T0);
        Device revoked = registry.revoke("shop-3-hw1", T0.plusSeconds(60)).orElseThrow();
        assertEquals(T0.plusSeconds(60), revoked.revokedAt());
        assertNull(revoked.passwordHash());
        assertFalse(revoked.online());
        assertEquals(T0.plusSeconds(60), registry.revoke("shop-3-hw1", T0.plusSeconds(90)).orElseThrow().revokedAt(),
                "revoking again keeps the first time");
        assertTrue(registry.revoke("no-such-device", T0).isEmpty());
        assertEquals(Set.of("shop-3-hw1"), registry.revokedIds());
        assertEquals(Map.of(), registry.passwordHashes());

        assertEquals(new Refused("device shop-3-hw1 was revoked at " + T0.plusSeconds(60)
                + "; provisioning it again needs a new claim"), provision("clm_c", "hw1", T0.plusSeconds(120)));
        registry.createClaim(new Claim("clm_d", "shop-4", 1, 1, T0.plus(Duration.ofDays(1)), T0));
        assertEquals(new Granted("shop-3-hw1", "shop-4", true, Basis.NEW_CLAIM_AFTER_REVOCATION),
                provision("clm_d", "hw1", "key-new", T0.plusSeconds(180)));
        Device back = registry.device("shop-3-hw1").orElseThrow();
        assertFalse(back.revoked());
        assertEquals("clm_d", back.claimToken());
        assertEquals("shop-4", back.location());
        assertEquals("key-new", back.publicKey(), "the returning box's key is pinned anew");
        assertEquals(Set.of(), registry.revokedIds());
        assertEquals(0, registry.claims().stream().filter(c -> c.token().equals("clm_d")).findFirst().orElseThrow().usesLeft());
    }

    /** The field attack: a used-up claim plus a hardware id (printed on the box) must not re-issue credentials. */
    @Test
    void aKnownBoxIsProvisionedAgainOnlyWithItsPinnedKeyNotWithItsClaimAndHardwareId() {
        registry.createClaim(new Claim("clm_k", "shop-6", 1, 1, T0.plus(Duration.ofDays(1)), T0));
        assertEquals(new Granted("shop-6-hw1", "shop-6", true, Basis.NEW_DEVICE), provision("clm_k", "hw1", "kA", T0));
        assertEquals("kA", registry.device("shop-6-hw1").orElseThrow().publicKey());
        String hash = registry.device("shop-6-hw1").orElseThrow().passwordHash();

        String refusal = "; a claim and a hardware id do not re-provision a box: it needs its own key or an operator's "
                + "approval (devices approve shop-6-hw1)";
        assertEquals(new Refused("device shop-6-hw1 has a device key and this request is not signed" + refusal),
                provision("clm_k", "hw1", null, T0.plusSeconds(10)));
        assertEquals(new Refused("device shop-6-hw1 is provisioned with another device key" + refusal),
                provision("clm_k", "hw1", "kImpostor", T0.plusSeconds(20)));
        Device untouched = registry.device("shop-6-hw1").orElseThrow();
        assertEquals(hash, untouched.passwordHash(), "the real box keeps its credentials");
        assertEquals("kA", untouched.publicKey());

        // the box itself, with its key, even though the claim is used up (the key is the credential)
        assertEquals(new Granted("shop-6-hw1", "shop-6", false, Basis.OWN_KEY), provision("clm_k", "hw1", "kA", T0.plusSeconds(30)));
        assertEquals(0, registry.claims().get(0).usesLeft());
        assertEquals(new Refused("unknown claim"), provision("clm_none", "hw1", "kA", T0.plusSeconds(40)),
                "the key does not stand in for a claim");
    }

    @Test
    void anOperatorsApprovalAllowsExactlyOneReprovisioningAndPinsTheNewKey() {
        registry.createClaim(new Claim("clm_o", "shop-7", 3, 3, T0.plus(Duration.ofDays(1)), T0));
        provision("clm_o", "hw-old", null, T0); // an old gateway: no key to pin
        assertNull(registry.device("shop-7-hw-old").orElseThrow().publicKey());
        assertEquals(new Refused("device shop-7-hw-old was provisioned without a device key (older gateway); a claim and "
                + "a hardware id do not re-provision a box: it needs its own key or an operator's approval (devices approve "
                + "shop-7-hw-old)"), provision("clm_o", "hw-old", "kNew", T0.plusSeconds(1)));

        assertEquals(T0.plusSeconds(3600), registry.approveReprovisioning("shop-7-hw-old", T0.plusSeconds(3600))
                .orElseThrow().reprovisionApprovedUntil());
        assertEquals(new Granted("shop-7-hw-old", "shop-7", false, Basis.OPERATOR_APPROVAL),
                provision("clm_o", "hw-old", "kNew", T0.plusSeconds(60)));
        Device d = registry.device("shop-7-hw-old").orElseThrow();
        assertEquals("kNew", d.publicKey());
        assertNull(d.reprovisionApprovedUntil(), "used up");
        assertInstanceOf(Refused.class, provision("clm_o", "hw-old", "kOther", T0.plusSeconds(61)), "only once");
        assertEquals(Basis.OWN_KEY, ((Granted) provision("clm_o", "hw-old", "kNew", T0.plusSeconds(62))).basis());

        // an approval not used in time lapses
        registry.approveReprovisioning("shop-7-hw-old", T0.plusSeconds(100));
        assertInstanceOf(Refused.class, provision("clm_o", "hw-old", "kLate", T0.plusSeconds(100)));
        assertEquals(3 - 1, registry.claims().get(0).usesLeft(), "re-provisioning takes no use");

        assertTrue(registry.approveReprovisioning("no-such-box", T0).isEmpty());
        registry.noteStatus("status-only", true, "{}", T0);
        assertTrue(registry.approveReprovisioning("status-only", T0).isEmpty(), "never provisioned");
        registry.revoke("shop-7-hw-old", T0.plusSeconds(200));
        IllegalStateException revoked = org.junit.jupiter.api.Assertions.assertThrows(IllegalStateException.class,
                () -> registry.approveReprovisioning("shop-7-hw-old", T0.plusSeconds(300)));
        assertTrue(revoked.getMessage().contains("needs a new claim"), revoked.getMessage());
    }

    @Test
    void aGrantedRequestsNonceCannotBeUsedAgain() {
        registry.createClaim(new Claim("clm_n", "shop-8", 2, 2, T0.plus(Duration.ofDays(1)), T0));
        assertInstanceOf(Granted.class, registry.provision("clm_n", "hw1", "kA", "nonce-0000000000000001", T0, "h1", l -> l + "-hw1"));
        assertEquals(new Refused("replayed request: nonce nonce-0000000000000001 was already used at " + T0
                + "; a box sends a new nonce with every attempt"),
                registry.provision("clm_n", "hw1", "kA", "nonce-0000000000000001", T0.plusSeconds(5), "h2", l -> l + "-hw1"));
        assertEquals("h1", registry.device("shop-8-hw1").orElseThrow().passwordHash());
        assertInstanceOf(Granted.class, registry.provision("clm_n", "hw1", "kA", "nonce-0000000000000002", T0.plusSeconds(6), "h3",
                l -> l + "-hw1"));
    }

    @Test
    void desiredConfigIsVersionedAndCommandsAreAcknowledgedOnlyByTheirDevice() {
        Device d = registry.updateConfig("counter-1", Map.of("fleet.heartbeat", "5s", "log.level", "debug"));
        assertEquals(1, d.desiredVersion());
        Map<String, String> removeLevel = new HashMap<>();
        removeLevel.put("log.level", null);
        d = registry.updateConfig("counter-1", removeLevel);
        assertEquals(2, d.desiredVersion());
        assertEquals(Map.of("fleet.heartbeat", "5s"), d.desiredConfig());

        registry.addCommand(new Command("c-1", "counter-1", "identify", null, T0, null, null, null));
        registry.addCommand(new Command("c-2", "counter-1", "log-level", "warn", T0.plusSeconds(1), null, null, null));
        assertFalse(registry.ackCommand("c-1", "counter-2", true, "not mine", T0.plusSeconds(2)));
        assertTrue(registry.ackCommand("c-1", "counter-1", true, "blinking", T0.plusSeconds(2)));
        assertEquals(new Command("c-1", "counter-1", "identify", null, T0, true, "blinking", T0.plusSeconds(2)),
                registry.command("c-1").orElseThrow());
        assertEquals(List.of("c-2", "c-1"), registry.commands("counter-1", 10).stream().map(Command::commandId).toList());
        assertEquals(List.of("c-2"), registry.commands("counter-1", 1).stream().map(Command::commandId).toList());
        assertNull(registry.command("c-2").orElseThrow().ok(), "not acknowledged yet");
    }

    @Test
    void twoBoxesRacingForTheLastUseOfAClaimCannotBothGetIt() throws Exception {
        registry.createClaim(new Claim("clm_e", "shop-5", 1, 1, T0.plus(Duration.ofDays(1)), T0));
        ExecutorService pool = Executors.newFixedThreadPool(4);
        try {
            List<Future<FleetRegistry.Decision>> results = new java.util.ArrayList<>();
            for (int i = 0; i < 4; i++) {
                String hw = "race-" + i;
                results.add(pool.submit(() -> provision("clm_e", hw, T0)));
            }
            int granted = 0;
            for (Future<FleetRegistry.Decision> r : results) {
                if (r.get() instanceof Granted) {
                    granted++;
                } else {
                    assertInstanceOf(Refused.class, r.get());
                }
            }
            assertEquals(1, granted);
            assertEquals(1, registry.devices().size());
        } finally {
            pool.shutdownNow();
        }
    }
}
