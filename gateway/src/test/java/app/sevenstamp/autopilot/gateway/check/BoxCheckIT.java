package app.sevenstamp.autopilot.gateway.check;

import app.sevenstamp.autopilot.gateway.testing.GatewayProps;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import app.sevenstamp.autopilot.protocol.testing.MosquittoProcess;
import app.sevenstamp.autopilot.protocol.testing.TestPki;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code java -jar autopilot-gateway.jar check} off a Pi, as an installer would run it, against the real
 * Mosquitto with dynamic security behind TLS: the broker lines for a right login, a wrong password and a
 * wrong CA, and the exit code (never 0 here: this machine has no gpiochip and no scanner).
 */
class BoxCheckIT {
    private static final Path JAR = Path.of("target", "autopilot-gateway.jar");

    @TempDir
    Path dir;

    private TestPki pki;
    private TestPki.Issued brokerCert;

    @BeforeEach
    void certificates() {
        pki = TestPki.createCa(dir, "Shop Broker CA");
        brokerCert = pki.server("broker", "DNS:localhost,IP:127.0.0.1");
    }

    private record Result(int code, List<String> lines, String stderr) {
        String line(String prefix) {
            return lines.stream().filter(l -> l.startsWith(prefix)).findFirst().orElseThrow(() -> new AssertionError(
                    "no line " + prefix + " in\n" + String.join("\n", lines) + "\nstderr:\n" + stderr));
        }
    }

    private Result check(String... args) throws IOException, InterruptedException {
        List<String> command = new ArrayList<>(List.of(ProcessHandle.current().info().command().orElse("java"),
                "-Xmx64m", "-jar", JAR.toString()));
        command.addAll(List.of(args));
        Path err = dir.resolve("stderr-" + System.nanoTime());
        Process p = new ProcessBuilder(command).redirectError(err.toFile()).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(60, TimeUnit.SECONDS), "check ended");
        return new Result(p.exitValue(), out.lines().toList(), Files.readString(err));
    }

    private Path config(String url, Path ca, String password) throws IOException {
        return GatewayProps.minimal().set("device.id", "counter-7", "outbox.dir", dir.resolve("outbox").toString(),
                "scanner.type", "auto", "mqtt.url", url, "mqtt.tls.ca", ca.toString(), "mqtt.username", "admin",
                "mqtt.password", password).write(dir.resolve("gateway.properties"));
    }

    @Test
    void offAPiItSaysWhatIsMissingAndTheBrokerPasses() throws Exception {
        try (MosquittoProcess mosquitto = MosquittoProcess.startWithDynamicSecurity(dir.resolve("mosquitto"), "admin",
                "admin-secret", MosquittoProcess.tlsListener(pki.ca(), brokerCert.cert(), brokerCert.key(), false))) {
            Result r = check("check", "--config", config(mosquitto.sslUrl(), pki.ca(), "admin-secret").toString());
            assertEquals(BoxCheck.NOT_READY, r.code(), String.join("\n", r.lines()));
            assertTrue(r.lines().get(0).startsWith("7stamp gateway "), r.lines().get(0));
            assertTrue(r.line("WARN board: ").endsWith("not a board this gateway knows (Pi 5, Pi 4, Pi 3 / Zero 2 W)"));
            assertTrue(r.line("OK   java: Java " + Runtime.version().feature()).length() > 0);
            assertEquals("FAIL gpio: no /dev/gpiochip* on this machine (board: unknown); this is not a Raspberry Pi",
                    r.line("FAIL gpio"));
            assertTrue(r.line("FAIL scanner: scanner.type=auto: no scanner found").length() > 0);
            assertTrue(r.line("OK   outbox fsync: 4 KB written and synced in ").length() > 0);
            assertTrue(r.line("OK   outbox storage: on ").length() > 0);
            assertEquals("OK   broker: localhost:" + mosquitto.port() + " reachable (" + mosquitto.sslUrl() + ")",
                    r.line("OK   broker:"));
            assertEquals("OK   broker tls: certificate valid for localhost (ca=" + pki.ca() + ")", r.line("OK   broker tls"));
            assertEquals("OK   broker login: accepted as user 'admin'", r.line("OK   broker login"));
            assertEquals("WARN self-test: not played: GPIO is not usable (the FAIL lines above)", r.line("WARN self-test"));
            assertEquals("NOT READY: 2 problems (the FAIL lines above)", r.lines().get(r.lines().size() - 1));
            assertEquals(-1, r.stderr().indexOf("\tat "), "no stack trace:\n" + r.stderr());
        }
    }

    @Test
    void aWrongPasswordAndAWrongCaAreNamed() throws Exception {
        try (MosquittoProcess mosquitto = MosquittoProcess.startWithDynamicSecurity(dir.resolve("mosquitto"), "admin",
                "admin-secret", MosquittoProcess.tlsListener(pki.ca(), brokerCert.cert(), brokerCert.key(), false))) {
            Result wrongPassword = check("check", "--config", config(mosquitto.sslUrl(), pki.ca(), "guess").toString());
            assertEquals(BoxCheck.NOT_READY, wrongPassword.code());
            assertEquals("OK   broker tls: certificate valid for localhost (ca=" + pki.ca() + ")",
                    wrongPassword.line("OK   broker tls"));
            assertEquals("FAIL broker login: refused as user 'admin': not authorised; check mqtt.username and "
                    + "mqtt.password, and that the broker lets this user connect", wrongPassword.line("FAIL broker login"));

            TestPki other = TestPki.createCa(dir.resolve("other"), "Not The Broker CA");
            Result wrongCa = check("check", "--config=" + config(mosquitto.sslUrl(), other.ca(), "admin-secret"));
            assertEquals(BoxCheck.NOT_READY, wrongCa.code());
            assertEquals("FAIL broker tls: mqtt.tls.ca: the broker's certificate (CN=broker, issued by CN=Shop Broker CA) "
                    + "is not signed by the CA in " + other.ca() + " (CN=Not The Broker CA); set mqtt.tls.ca to the CA "
                    + "that signed the broker's certificate", wrongCa.line("FAIL broker tls"));
            assertTrue(wrongCa.lines().stream().noneMatch(l -> l.contains("broker login")), "no login without TLS");
        }
    }

    @Test
    void thePiCheckScriptRunsTheJarsCheck() throws Exception {
        // no systemd and no 'autopilot' user here: the script runs the check as this user and says so
        Path config = config("tcp://127.0.0.1:1", pki.ca(), "x");
        Files.writeString(config, Files.readString(config).replace("mqtt.tls.ca=" + pki.ca() + "\n", ""));
        ProcessBuilder pb = new ProcessBuilder("sh", Path.of("..", "scripts", "pi-check").toString(), "--config",
                config.toString()).redirectErrorStream(true);
        pb.environment().put("AUTOPILOT_JAR", JAR.toAbsolutePath().toString());
        Process p = pb.start();
        List<String> lines = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).lines().toList();
        assertTrue(p.waitFor(60, TimeUnit.SECONDS));
        String all = String.join("\n", lines);
        assertEquals(BoxCheck.NOT_READY, p.exitValue(), all);
        assertTrue(lines.stream().anyMatch(l -> l.startsWith("FAIL broker: cannot reach 127.0.0.1:1 ")), all);
        assertEquals("NOT READY: 3 problems (the FAIL lines above)", lines.get(lines.size() - 1), all);

        ProcessBuilder missing = new ProcessBuilder("sh", Path.of("..", "scripts", "pi-check").toString())
                .redirectErrorStream(true);
        missing.environment().put("AUTOPILOT_JAR", dir.resolve("no.jar").toString());
        Process m = missing.start();
        String text = new String(m.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(m.waitFor(30, TimeUnit.SECONDS));
        assertEquals(69, m.exitValue(), text);
        assertTrue(text.contains("no.jar is missing: install the 7stamp-autopilot-gateway package first"), text);
    }

    @Test
    void withoutAConfigItIsAUsageError() throws Exception {
        Result r = check("check");
        assertEquals(64, r.code());
        assertTrue(r.stderr().contains("usage: java -jar autopilot-gateway.jar [check] --config FILE"), r.stderr());
    }
}
