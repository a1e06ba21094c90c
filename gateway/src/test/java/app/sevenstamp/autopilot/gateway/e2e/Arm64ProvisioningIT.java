package app.sevenstamp.autopilot.gateway.e2e;

import app.sevenstamp.autopilot.gateway.testing.GatewayProps;
import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import app.sevenstamp.autopilot.protocol.testing.MosquittoProcess;
import app.sevenstamp.autopilot.protocol.testing.SocatPty;
import app.sevenstamp.autopilot.sink.SinkServer;
import app.sevenstamp.autopilot.sink.cards.SigningKey;
import app.sevenstamp.autopilot.sink.testing.TestSink;
import app.sevenstamp.autopilot.sink.fleet.FleetRegistry;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.tinylog.Logger;

/**
 * Zero-touch provisioning on the Pi's architecture: the gateway jar on the arm64 JVM under qemu (the
 * harness of {@link Arm64SmokeIT}) starts with only a claim token and the broker address, provisions
 * against the real sink and a real Mosquitto with the dynamic-security plugin (as {@link FleetIT}),
 * reconnects as itself, and a scan on a socat pty becomes a stamp at the sink. Slow by nature; the
 * waits are generous and the test logs how long each phase took, but asserts no timing.
 */
class Arm64ProvisioningIT {
    private static final Duration START = Duration.ofMinutes(3);
    private static final Duration WAIT = Duration.ofSeconds(90);

    @TempDir
    Path dir;

    @Test
    void anArm64GatewayWithOnlyAClaimProvisionsReconnectsAsItselfAndStamps() throws Exception {
        Path qemu = Arm64SmokeIT.requireQemuAndArm64Java();
        try (MosquittoProcess mosquitto = MosquittoProcess.startWithDynamicSecurity(dir.resolve("mosquitto"), "admin", "admin-secret")) {
            TestSink sinkConfig = TestSink.in(dir).broker(mosquitto.url()).set("mqtt.username", "admin")
                    .set("mqtt.password", "admin-secret").set("fleet.provisioning", "true").program("coffee", 5);
            try (SinkServer sink = sinkConfig.start();
                 SocatPty pty = SocatPty.start(dir, "usb-Honeywell-if00")) {
                assertTrue(sink.fleet().awaitReady(WAIT), "fleet ready on Mosquitto with dynamic security");
                String claim = sink.fleet().createClaim("shop-arm", 1, Duration.ofDays(1)).token();
                Path state = dir.resolve("state");
                // what the installer writes on a Pi: the claim and the broker; the rest is the scanner's wiring
                Path config = GatewayProps.claim(claim, "arm64-serial-00000000c0ffee", state, mosquitto.url())
                        .set("provision.timeout", "60s", "scanner.type", "serial",
                                "scanner.port", dir.resolve("usb-Honeywell*-if00").toString(), "scanner.prefix", "\\x02")
                        .write(dir.resolve("gateway.properties"));
                Path tmp = Files.createDirectories(dir.resolve("tmp"));
                FleetRegistry registry = sink.fleet().registry();
                long t0 = System.nanoTime();
                try (GatewayProcess gateway = GatewayProcess.start(config, dir.resolve("gateway.log"),
                        Arm64SmokeIT.command(qemu, tmp, config))) {
                    gateway.awaitLog("provisioned as shop-arm-", START);
                    long provisioned = System.nanoTime();
                    gateway.awaitLog("gateway ready", START);
                    // online: the retained status it published under its own identity reached the registry
                    await().atMost(WAIT).until(() -> registry.devices().stream().anyMatch(FleetRegistry.Device::online));
                    long online = System.nanoTime();
                    FleetRegistry.Device device = registry.devices().get(0);
                    assertEquals(1, registry.devices().size());
                    assertTrue(device.deviceId().startsWith("shop-arm-"), device.deviceId());
                    assertEquals("arm64-serial-00000000c0ffee", device.hardwareId());
                    assertEquals("rw-------", PosixFilePermissions.toString(
                            Files.getPosixFilePermissions(state.resolve("identity.properties"))));
                    assertTrue(Arm64SmokeIT.hasAarch64Library(tmp), "the aarch64 jSerialComm library:\n" + gateway.log());

                    // the trusted key came with the initial config, so the sink's own card is accepted
                    String card = SigningKey.loadOrCreate(sinkConfig.storeDir().resolve("signing.key"), "k1")
                            .signer().sign("coffee", "ABCDEFGHJKMNPQRS");
                    gateway.awaitLog("open at 9600 baud", START);
                    pty.scan(card);
                    gateway.awaitLine(l -> l.startsWith("ACCEPTED"), WAIT, "ACCEPTED from the provisioned arm64 gateway");
                    await().atMost(WAIT).until(() -> sink.metrics().accepted() == 1);
                    long stamped = System.nanoTime();
                    HttpClient http = HttpClient.newHttpClient();
                    HttpResponse<String> c = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + sink.httpPort()
                            + "/api/v1/cards/ABCDEFGHJKMNPQRS")).build(), HttpResponse.BodyHandlers.ofString());
                    assertTrue(c.statusCode() == 200 && c.body().contains("\"stamps\":1"), c.statusCode() + " " + c.body());
                    Logger.info("arm64 under qemu: provisioned after {} ms, online after {} ms, first stamp at the sink after {} ms",
                            (provisioned - t0) / 1_000_000, (online - t0) / 1_000_000, (stamped - t0) / 1_000_000);
                    gateway.terminate(Duration.ofSeconds(60));
                }
            }
        }
    }
}
