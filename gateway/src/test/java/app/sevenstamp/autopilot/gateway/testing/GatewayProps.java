package app.sevenstamp.autopilot.gateway.testing;

import app.sevenstamp.autopilot.gateway.config.GatewayConfig;
import app.sevenstamp.autopilot.protocol.support.Settings;
import app.sevenstamp.autopilot.protocol.testing.Vectors;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;

/**
 * A valid gateway configuration for a test, so that a test writes out only what it is about. {@link #minimal}
 * has the one required key; {@link #counter} is the usual box of the end-to-end tests (stdin scanner, program
 * coffee, console feedback, its outbox, the test's broker, a quick reconnect). Values are held as the program
 * reads them; {@link #write} escapes what a properties file needs (a backslash is doubled).
 */
public final class GatewayProps {
    private final Map<String, String> keys = new LinkedHashMap<>();

    private GatewayProps() {
    }

    /** Only {@code cards.trustedKeys}, with {@code trustedKey}: every other key at its default. */
    public static GatewayProps minimal(String trustedKey) {
        return new GatewayProps().set("cards.trustedKeys", trustedKey);
    }

    /** {@link #minimal(String)} with the test vectors' key. */
    public static GatewayProps minimal() {
        return minimal(Vectors.trustedKey());
    }

    /** The usual test box: stdin scanner, program coffee, console feedback, reconnecting after 100 ms. */
    public static GatewayProps counter(String deviceId, String trustedKey, Path outboxDir, String brokerUrl) {
        return new GatewayProps().set("device.id", deviceId).set("scanner.type", "stdin")
                .set("cards.trustedKeys", trustedKey).set("cards.programs", "coffee")
                .set("outbox.dir", outboxDir.toString()).set("mqtt.url", brokerUrl)
                .set("mqtt.reconnect.min", "100ms").set("feedback.type", "console");
    }

    /**
     * A box as the installer leaves it for provisioning: a claim, its hardware id, the broker, a stdin scanner and
     * console feedback; device.id, the credentials and the trusted keys come from the sink.
     */
    public static GatewayProps claim(String claimToken, String hardwareId, Path outboxDir, String brokerUrl) {
        return new GatewayProps().set("provision.claimToken", claimToken).set("provision.hardwareId", hardwareId)
                .set("mqtt.url", brokerUrl).set("mqtt.reconnect.min", "100ms").set("outbox.dir", outboxDir.toString())
                .set("scanner.type", "stdin").set("feedback.type", "console");
    }

    /** Sets a key; {@code null} removes it. A key keeps its place when set again. */
    public GatewayProps set(String key, String value) {
        if (value == null) {
            keys.remove(key);
        } else {
            keys.put(key, value);
        }
        return this;
    }

    /** Sets pairs: {@code set("mqtt.inflight", "50", "mqtt.reconnect.max", "1s")}. */
    public GatewayProps set(String... keyValues) {
        if (keyValues.length % 2 != 0) {
            throw new IllegalArgumentException("key and value pairs, not " + keyValues.length + " strings");
        }
        for (int i = 0; i < keyValues.length; i += 2) {
            set(keyValues[i], keyValues[i + 1]);
        }
        return this;
    }

    /** Sets lines as a file has them, {@code key=value}. */
    public GatewayProps setLines(String... lines) {
        for (String line : lines) {
            int eq = line.indexOf('=');
            if (eq <= 0) {
                throw new IllegalArgumentException("not key=value: " + line);
            }
            set(line.substring(0, eq), line.substring(eq + 1));
        }
        return this;
    }

    /** A serial scanner on {@code port}, ending scans at CR. */
    public GatewayProps serialScanner(Object port) {
        return set("scanner.type", "serial", "scanner.port", port.toString(), "scanner.terminator", "cr");
    }

    public Properties properties() {
        Properties p = new Properties();
        keys.forEach(p::setProperty);
        return p;
    }

    public Settings settings(String source) {
        return new Settings(properties(), source);
    }

    /**
     * Parsed and checked as at start, as the file {@code gateway.properties} (the name messages start with); serial
     * and keyboard scanners are looked for in {@code dir}'s {@code by-id} and {@code input-by-id}.
     */
    public GatewayConfig config(String hostName, Path dir) {
        return GatewayConfig.from(settings("gateway.properties"), hostName, dir.resolve("by-id"),
                dir.resolve("input-by-id"));
    }

    /** The file's lines, {@code key=value}, in the order the keys were first set. */
    public List<String> lines() {
        List<String> lines = new ArrayList<>();
        keys.forEach((k, v) -> lines.add(k + "=" + v.replace("\\", "\\\\").replace("\n", "\\n")));
        return lines;
    }

    /** Writes the properties file (UTF-8, a newline after the last line) and returns it. */
    public Path write(Path file) throws IOException {
        Files.writeString(file, String.join("\n", lines()) + "\n", StandardCharsets.UTF_8);
        return file;
    }
}
