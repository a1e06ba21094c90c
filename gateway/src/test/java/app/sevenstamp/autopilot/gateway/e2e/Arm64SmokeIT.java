package app.sevenstamp.autopilot.gateway.e2e;

import app.sevenstamp.autopilot.gateway.testing.GatewayProps;
import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertTrue;

import app.sevenstamp.autopilot.protocol.testing.SocatPty;
import app.sevenstamp.autopilot.protocol.testing.Tools;
import app.sevenstamp.autopilot.sink.SinkServer;
import app.sevenstamp.autopilot.sink.testing.TestSink;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.api.parallel.Execution;
import org.junit.jupiter.api.parallel.ExecutionMode;
import org.junit.jupiter.api.parallel.ResourceLock;

/**
 * Our stand-in for the Pi: the real gateway jar on Debian's aarch64 Java under qemu-user-static, bookworm's
 * OpenJDK 17 and trixie's OpenJDK 21 ({@link Arm64Java}), with the JVM options the shipped unit gives it,
 * with jSerialComm's aarch64 native library, reading a socat pty and delivering a stamp to the real sink
 * on this machine's JVM through its embedded broker. Slow by nature (every instruction is emulated), so
 * the waits are generous; nothing here asserts a timing.
 *
 * <p>binfmt_misc is not assumed: qemu is called explicitly, with {@code -L /} because Debian installs
 * the arm64 libraries multiarch under the root. Missing tools fail the test (scripts/test installs them).
 */
@Execution(ExecutionMode.CONCURRENT) // mostly an emulated JVM starting: runs beside the other ITs (pom.xml, failsafe)
@ResourceLock("Arm64SmokeIT") // its own cases one after another
class Arm64SmokeIT {
    static final Path ARM64_JAVA = Path.of("/usr/lib/jvm/java-17-openjdk-arm64/bin/java");
    private static final Duration START = Duration.ofMinutes(3);
    private static final Duration WAIT = Duration.ofSeconds(90);

    @TempDir
    Path dir;

    @ParameterizedTest
    @EnumSource(Arm64Java.class)
    void theGatewayJarOnAnArm64JvmDeliversAStampFromASerialScanner(Arm64Java java) throws Exception {
        List<String> jvm = java.prefix();
        TestSink sinkConfig = TestSink.in(dir).program("coffee", 5);
        Path sinkProperties = sinkConfig.write();
        try (SinkServer sink = sinkConfig.start();
             SocatPty pty = SocatPty.start(dir, "usb-Honeywell-if00")) {
            List<String> cards = SinkCli.issue(sinkProperties, "coffee", 2);
            String card = cards.get(0);
            String cardId = card.split("\\.")[3];
            Path config = GatewayProps.minimal(SinkCli.trustedKey(sinkProperties)).set("device.id", "arm64-counter",
                            "scanner.type", "serial",
                            "scanner.port", dir.resolve("usb-Honeywell*-if00").toString(), // by glob, as on a Pi
                            "scanner.prefix", "\\x02", // written to the file with the backslash doubled
                            "outbox.dir", dir.resolve("outbox").toString(), "mqtt.url", sink.brokerUrl(),
                            "mqtt.reconnect.min", "100ms", "feedback.type", "console")
                    .write(dir.resolve("gateway.properties"));
            Path tmp = Files.createDirectories(dir.resolve("tmp")); // where jSerialComm unpacks its aarch64 library
            List<String> command = command(jvm, tmp, config);
            try (GatewayProcess gateway = GatewayProcess.start(config, dir.resolve("gateway.log"), command)) {
                gateway.awaitLog("gateway ready", START);
                // the release's own Java ran it (the ready line names it)
                assertTrue(gateway.log().contains("on Java " + java.feature() + "."), "Java " + java.feature() + " in:\n" + gateway.log());
                gateway.awaitLog("open at 9600 baud", START);
                assertTrue(hasAarch64Library(tmp), "jSerialComm must have unpacked its aarch64 library under " + tmp
                        + ":\n" + gateway.log());

                // a double read (the scanner saw the card twice), then another card
                pty.write(("\u0002]Q1" + card + "\r\u0002]Q1" + card + "\r").getBytes(StandardCharsets.US_ASCII));
                String line = gateway.awaitLine(l -> l.startsWith("ACCEPTED"), WAIT, "ACCEPTED from the arm64 gateway");
                assertTrue(line.contains("card=" + cardId), line);
                pty.scan(cards.get(1));
                String next = gateway.awaitLine(l -> !l.isBlank(), WAIT, "the second card's feedback");
                assertTrue(next.startsWith("ACCEPTED") && next.contains("card=" + cards.get(1).split("\\.")[3])
                        && next.contains("seq=2"), "the double read must give no second feedback and no stamp: " + next);

                HttpClient http = HttpClient.newHttpClient();
                await().atMost(WAIT).until(() -> {
                    HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:"
                            + sink.httpPort() + "/api/v1/cards/" + cardId)).build(), HttpResponse.BodyHandlers.ofString());
                    return r.statusCode() == 200 && r.body().contains("\"stamps\":1");
                });
                gateway.terminate(Duration.ofSeconds(60));
                assertTrue(gateway.log().contains("gateway stopped"), gateway.log());
            }
        }
    }

    /** bookworm's arm64 java under qemu with the gateway jar, as the unit starts it on a Pi. */
    static List<String> command(Path qemu, Path tmp, Path config) {
        return command(List.of(qemu.toString(), "-L", "/", ARM64_JAVA.toString()), tmp, config);
    }

    /** An arm64 java under qemu ({@link Arm64Java#prefix}) with the unit's JVM options and the gateway jar. */
    static List<String> command(List<String> jvm, Path tmp, Path config) {
        List<String> command = new java.util.ArrayList<>(jvm);
        command.addAll(UnitJvmFlags.options());
        command.addAll(List.of("-Djava.io.tmpdir=" + tmp, "-jar", GatewayProcess.JAR.toString(), "--config", config.toString()));
        return command;
    }

    /** qemu and the arm64 JVM, or a failure that says how to install them. */
    static Path requireQemuAndArm64Java() {
        Path qemu = Tools.require("qemu-aarch64-static", "qemu-user-static");
        if (!Files.isExecutable(ARM64_JAVA)) {
            throw new AssertionError(ARM64_JAVA + " is missing: install the Debian package openjdk-17-jre-headless:arm64 "
                    + "after 'dpkg --add-architecture arm64' (scripts/test does this when run as root)");
        }
        return qemu;
    }

    /** jSerialComm unpacks its native library under java.io.tmpdir: an ELF file for machine 183 (EM_AARCH64). */
    static boolean hasAarch64Library(Path tmp) throws java.io.IOException {
        try (var files = Files.walk(tmp)) {
            return files.filter(f -> f.getFileName().toString().contains("jSerialComm") && Files.isRegularFile(f))
                    .anyMatch(f -> {
                        try (var in = Files.newInputStream(f)) {
                            byte[] header = in.readNBytes(20);
                            return header.length == 20 && header[0] == 0x7F && header[1] == 'E'
                                    && (header[18] & 0xFF | (header[19] & 0xFF) << 8) == 183;
                        } catch (java.io.IOException e) {
                            return false;
                        }
                    });
        }
    }
}
