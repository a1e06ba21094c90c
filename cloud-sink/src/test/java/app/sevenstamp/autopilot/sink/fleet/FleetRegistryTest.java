package app.sevenstamp.autopilot.sink.fleet;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

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
        return registry.provision(token, hardwareId, at, "hash-" + hardwareId + "-" + at.getEpochSecond(),
                location -> location + "-" + hardwareId);
    }

    @Test
    void aClaimBindsNewHardwareUntilItsUsesAreGoneAndAKnownBoxOnlyRotatesItsPassword() {
        registry.createClaim(new Claim("clm_a", "shop-1", 2, 2, T0.plus(Duration.ofDays(1)), T0));
        assertEquals(List.of(new Claim("clm_a", "shop-1", 2, 2, T0.plus(Duration.ofDays(1)), T0)), registry.claims());

        assertEquals(new Granted("shop-1-hw1", "shop-1", true), provision("clm_a", "hw1", T0));
        assertEquals(new Granted("shop-1-hw1", "shop-1", false), provision("clm_a", "hw1", T0.plusSeconds(5)),
                "the same box again: same id, no use taken");
        assertEquals(new Granted("shop-1-hw2", "shop-1", true), provision("clm_a", "hw2", T0));
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
        assertEquals(new Granted("shop-2-hw1-2", "shop-2", true), provision("clm_b", "hw1", T0));
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
        assertEquals(new Granted("shop-3-hw1", "shop-4", true), provision("clm_d", "hw1", T0.plusSeconds(180)));
        Device back = registry.device("shop-3-hw1").orElseThrow();
        assertFalse(back.revoked());
        assertEquals("clm_d", back.claimToken());
        assertEquals("shop-4", back.location());
        assertEquals(Set.of(), registry.revokedIds());
        assertEquals(0, registry.claims().stream().filter(c -> c.token().equals("clm_d")).findFirst().orElseThrow().usesLeft());
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
