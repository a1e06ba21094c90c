package app.sevenstamp.autopilot.gateway.config;

import app.sevenstamp.autopilot.gateway.outbox.OutboxLimits;
import app.sevenstamp.autopilot.gateway.scan.ScanCharset;
import app.sevenstamp.autopilot.gateway.scan.Terminator;
import app.sevenstamp.autopilot.protocol.Topics;
import app.sevenstamp.autopilot.protocol.card.CardCode;
import app.sevenstamp.autopilot.protocol.card.CardVerifier;
import app.sevenstamp.autopilot.protocol.support.ConfigException;
import app.sevenstamp.autopilot.protocol.support.Settings;
import java.io.IOException;
import java.net.URI;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import java.util.Set;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import java.util.stream.Stream;

/**
 * The gateway's configuration: immutable, read once at start from a properties file, every value
 * checked there. A bad value stops the start with a message naming the key, the value and what is
 * allowed; an unknown key (a typo) is refused rather than silently ignored.
 *
 * <table>
 * <caption>Keys</caption>
 * <tr><th>key</th><th>default</th><th>allowed</th></tr>
 * <tr><td>device.id</td><td>host name, sanitised</td><td>1-64 of {@code A-Za-z0-9_.-}, starting with a letter or digit</td></tr>
 * <tr><td>device.location</td><td>{@code default}</td><td>as device.id</td></tr>
 * <tr><td>scanner.type</td><td>{@code stdin}</td><td>{@code stdin}, {@code serial}</td></tr>
 * <tr><td>scanner.port</td><td>(required for serial)</td><td>an existing device, best {@code /dev/serial/by-id/...}</td></tr>
 * <tr><td>scanner.baud</td><td>9600</td><td>1200..921600</td></tr>
 * <tr><td>scanner.terminator</td><td>{@code cr}</td><td>{@code cr}, {@code lf}, {@code crlf}, {@code tab}; stdin also ends a scan at any CR or LF</td></tr>
 * <tr><td>scanner.maxLength</td><td>256</td><td>16..4096 bytes</td></tr>
 * <tr><td>scanner.charset</td><td>{@code utf-8}</td><td>{@code utf-8}, {@code iso-8859-1}</td></tr>
 * <tr><td>cards.trustedKeys</td><td>(required)</td><td>comma list of {@code keyId:base64url}, as printed by {@code autopilot-sink keys show}</td></tr>
 * <tr><td>cards.programs</td><td>(empty: every program signed by a trusted key)</td><td>comma list of program ids</td></tr>
 * <tr><td>outbox.dir</td><td>{@code ./data/gateway}</td><td>a directory (created if missing)</td></tr>
 * <tr><td>outbox.maxEvents</td><td>1000000</td><td>100..100000000 unsent events; beyond it scans get STORAGE_FAULT</td></tr>
 * <tr><td>outbox.maxBytes</td><td>512MB</td><td>1MB..1TB, the database file; {@code B}, {@code KB}, {@code MB}, {@code GB}, {@code TB}</td></tr>
 * <tr><td>outbox.minFreeBytes</td><td>16MB</td><td>0..1TB kept free on the outbox's disk</td></tr>
 * <tr><td>outbox.nearFullPercent</td><td>80</td><td>50..99, where the near-full alarm starts</td></tr>
 * <tr><td>mqtt.url</td><td>{@code tcp://127.0.0.1:1883}</td><td>{@code tcp://HOST:PORT} or {@code ssl://HOST:PORT}</td></tr>
 * <tr><td>mqtt.topicPrefix</td><td>{@code 7stamp/v1}</td><td>no leading or trailing {@code /}, no wildcards</td></tr>
 * <tr><td>mqtt.clientId</td><td>device.id</td><td>as device.id</td></tr>
 * <tr><td>mqtt.username</td><td>(none)</td><td>any</td></tr>
 * <tr><td>mqtt.password</td><td>(none)</td><td>any; needs mqtt.username; never logged</td></tr>
 * <tr><td>mqtt.keepAlive</td><td>30s</td><td>5s..10m</td></tr>
 * <tr><td>mqtt.inflight</td><td>10</td><td>1..1000 events sent and not yet acknowledged by the sink</td></tr>
 * <tr><td>mqtt.reconnect.min</td><td>1s</td><td>100ms..10m</td></tr>
 * <tr><td>mqtt.reconnect.max</td><td>60s</td><td>1s..1h, at least mqtt.reconnect.min</td></tr>
 * <tr><td>feedback.type</td><td>{@code console}</td><td>{@code console}, {@code gpio}</td></tr>
 * <tr><td>feedback.gpio.green</td><td>17</td><td>BCM 0..27, distinct from the other pins</td></tr>
 * <tr><td>feedback.gpio.red</td><td>27</td><td>BCM 0..27, distinct</td></tr>
 * <tr><td>feedback.gpio.buzzer</td><td>22</td><td>BCM 0..27, distinct</td></tr>
 * <tr><td>feedback.gpio.activeLow</td><td>false</td><td>true, false</td></tr>
 * </table>
 *
 * Durations are written {@code 500ms}, {@code 30s}, {@code 5m}, {@code 1h}.
 */
public record GatewayConfig(
        String deviceId,
        String location,
        ScannerSettings scanner,
        CardSettings cards,
        Path outboxDir,
        MqttSettings mqtt,
        FeedbackSettings feedback,
        OutboxLimits outboxLimits) {

    public static final Path SERIAL_BY_ID = Path.of("/dev/serial/by-id");

    private static final String ID_RULE = "1 to 64 letters, digits, '_', '.' or '-', starting with a letter or digit";
    private static final Pattern MQTT_URL = Pattern.compile("(tcp|ssl)://[^/:?#\\s]+(:\\d{1,5})?");
    private static final String KEY_FORMAT = "keyId:publicKey as printed by 'autopilot-sink keys show'";

    public GatewayConfig {
        Objects.requireNonNull(deviceId, "deviceId");
        Objects.requireNonNull(location, "location");
        Objects.requireNonNull(scanner, "scanner");
        Objects.requireNonNull(cards, "cards");
        Objects.requireNonNull(outboxDir, "outboxDir");
        Objects.requireNonNull(mqtt, "mqtt");
        Objects.requireNonNull(feedback, "feedback");
        Objects.requireNonNull(outboxLimits, "outboxLimits");
    }

    public enum ScannerType { STDIN, SERIAL }

    public enum FeedbackType { CONSOLE, GPIO }

    /** @param port the device path; null for stdin */
    public record ScannerSettings(ScannerType type, String port, int baud, Terminator terminator, int maxLength,
            ScanCharset charset) {
    }

    /** @param programs the allowed programs; empty allows every program signed by a trusted key */
    public record CardSettings(List<String> trustedKeys, Set<String> programs, CardVerifier verifier) {
        public CardSettings {
            trustedKeys = List.copyOf(trustedKeys);
            programs = Set.copyOf(programs);
        }
    }

    /** @param username null for anonymous; @param password null when none */
    public record MqttSettings(String url, String topicPrefix, String clientId, String username, String password,
            Duration keepAlive, int inflight, Duration reconnectMin, Duration reconnectMax) {

        /** Never prints the password. */
        @Override
        public String toString() {
            return "MqttSettings[url=" + url + ", topicPrefix=" + topicPrefix + ", clientId=" + clientId
                    + ", username=" + username + ", password=" + (password == null ? "none" : "***")
                    + ", keepAlive=" + keepAlive + ", inflight=" + inflight + ", reconnectMin=" + reconnectMin
                    + ", reconnectMax=" + reconnectMax + "]";
        }
    }

    public record FeedbackSettings(FeedbackType type, int greenPin, int redPin, int buzzerPin, boolean activeLow) {
    }

    /** Reads and checks {@code file}, for this host. */
    public static GatewayConfig load(Path file, String hostName) {
        return from(Settings.load(file), hostName, SERIAL_BY_ID);
    }

    /**
     * @param hostName     the source of the default device id
     * @param serialByIdDir where to look for serial devices to suggest when {@code scanner.port} is wrong
     */
    public static GatewayConfig from(Settings s, String hostName, Path serialByIdDir) {
        Pattern id = Topics.DEVICE_ID;
        String deviceId = s.matching("device.id", defaultDeviceId(hostName), id, ID_RULE);
        String location = s.matching("device.location", "default", id, ID_RULE);

        ScannerType scannerType = s.choice("scanner.type", ScannerType.STDIN, ScannerType.class);
        String port = scannerPort(s, scannerType, serialByIdDir);
        ScannerSettings scanner = new ScannerSettings(scannerType, port,
                s.integer("scanner.baud", 9600, 1200, 921_600),
                s.choice("scanner.terminator", Terminator.CR, Terminator.class),
                s.integer("scanner.maxLength", 256, 16, 4096),
                s.choice("scanner.charset", ScanCharset.UTF_8, ScanCharset.class));

        CardSettings cards = cards(s);

        String dir = s.string("outbox.dir", "./data/gateway");
        Path outboxDir = Path.of(dir);
        if (Files.exists(outboxDir) && !Files.isDirectory(outboxDir)) {
            throw Settings.bad("outbox.dir", dir, "a directory (this is a file)");
        }

        MqttSettings mqtt = mqtt(s, deviceId);

        FeedbackType feedbackType = s.choice("feedback.type", FeedbackType.CONSOLE, FeedbackType.class);
        int green = s.integer("feedback.gpio.green", 17, 0, 27);
        int red = s.integer("feedback.gpio.red", 27, 0, 27);
        int buzzer = s.integer("feedback.gpio.buzzer", 22, 0, 27);
        if (red == green) {
            throw Settings.bad("feedback.gpio.red", String.valueOf(red), "a BCM pin 0..27 not used by feedback.gpio.green");
        }
        if (buzzer == green || buzzer == red) {
            throw Settings.bad("feedback.gpio.buzzer", String.valueOf(buzzer),
                    "a BCM pin 0..27 not used by feedback.gpio.green or feedback.gpio.red");
        }
        FeedbackSettings feedback = new FeedbackSettings(feedbackType, green, red, buzzer,
                s.bool("feedback.gpio.activeLow", false));

        OutboxLimits outboxLimits = outboxLimits(s);

        s.rejectUnknownKeys();
        return new GatewayConfig(deviceId, location, scanner, cards, outboxDir, mqtt, feedback, outboxLimits);
    }

    private static OutboxLimits outboxLimits(Settings s) {
        long maxEvents = s.integer("outbox.maxEvents", 1_000_000, 100, 100_000_000);
        long maxBytes = bytes(s, "outbox.maxBytes", "512MB", 1L << 20, 1L << 40);
        long minFree = bytes(s, "outbox.minFreeBytes", "16MB", 0, 1L << 40);
        int nearFull = s.integer("outbox.nearFullPercent", 80, 50, 99);
        return new OutboxLimits(maxEvents, maxBytes, minFree, nearFull);
    }

    private static final Pattern SIZE = Pattern.compile("(\\d{1,13})\\s*(B|KB|MB|GB|TB)?");

    /** A size such as {@code 512MB} (binary units: 1 KB = 1024 B) or a plain number of bytes. */
    static long bytes(Settings s, String key, String defaultValue, long min, long max) {
        String text = s.string(key, defaultValue).trim();
        java.util.regex.Matcher m = SIZE.matcher(text.toUpperCase(Locale.ROOT));
        String allowed = "a size like 512MB, 2GB or 65536 (bytes) between " + min + " and " + max + " bytes";
        if (!m.matches()) {
            throw Settings.bad(key, text, allowed);
        }
        int shift = switch (m.group(2) == null ? "B" : m.group(2)) {
            case "KB" -> 10;
            case "MB" -> 20;
            case "GB" -> 30;
            case "TB" -> 40;
            default -> 0;
        };
        long n = Long.parseLong(m.group(1));
        if (n > (max >> shift) || (n << shift) < min) {
            throw Settings.bad(key, text, allowed);
        }
        return n << shift;
    }

    /** The host name made into a valid device id: other characters become '-', cut to 64. */
    static String defaultDeviceId(String hostName) {
        String cleaned = hostName == null ? "" : hostName.trim().replaceAll("[^A-Za-z0-9_.-]", "-")
                .replaceFirst("^[^A-Za-z0-9]+", "");
        if (cleaned.length() > 64) {
            cleaned = cleaned.substring(0, 64);
        }
        return cleaned.isEmpty() ? "gateway" : cleaned;
    }

    private static String scannerPort(Settings s, ScannerType type, Path serialByIdDir) {
        if (type != ScannerType.SERIAL) {
            s.string("scanner.port", null);
            return null;
        }
        String port = s.required("scanner.port", "required when scanner.type is serial; "
                + candidates(serialByIdDir));
        if (!Files.exists(Path.of(port))) {
            throw new ConfigException("scanner.port: '" + port + "' does not exist; " + candidates(serialByIdDir));
        }
        return port;
    }

    private static String candidates(Path serialByIdDir) {
        List<String> found = new ArrayList<>();
        try (Stream<Path> entries = Files.list(serialByIdDir)) {
            entries.map(Path::toString).sorted().forEach(found::add);
        } catch (IOException | SecurityException e) {
            // no such directory: no serial device is plugged in
        }
        return found.isEmpty()
                ? "no devices in " + serialByIdDir + " (is the scanner plugged in and set to serial mode?)"
                : "found " + String.join(", ", found);
    }

    private static CardSettings cards(Settings s) {
        s.required("cards.trustedKeys", "comma-separated " + KEY_FORMAT);
        List<String> keys = s.list("cards.trustedKeys");
        for (String entry : keys) {
            try {
                CardVerifier.parse(List.of(entry));
            } catch (IllegalArgumentException e) {
                throw Settings.bad("cards.trustedKeys", entry, KEY_FORMAT + " (" + e.getMessage() + ")");
            }
        }
        CardVerifier verifier;
        try {
            verifier = CardVerifier.parse(keys);
        } catch (IllegalArgumentException e) {
            throw new ConfigException("cards.trustedKeys: " + e.getMessage());
        }
        Set<String> programs = new LinkedHashSet<>();
        for (String program : s.list("cards.programs")) {
            if (!CardCode.PROGRAM_ID.matcher(program).matches()) {
                throw Settings.bad("cards.programs", program, "comma-separated program ids like coffee or bakery-7 ("
                        + CardCode.PROGRAM_ID.pattern() + ")");
            }
            programs.add(program);
        }
        return new CardSettings(keys, programs, verifier);
    }

    private static MqttSettings mqtt(Settings s, String deviceId) {
        String url = s.string("mqtt.url", "tcp://127.0.0.1:1883");
        if (!MQTT_URL.matcher(url.toLowerCase(Locale.ROOT)).matches() || !validPort(url)) {
            throw Settings.bad("mqtt.url", url, "tcp://HOST:PORT or ssl://HOST:PORT");
        }
        String prefix = s.string("mqtt.topicPrefix", Topics.DEFAULT_PREFIX);
        try {
            new Topics(prefix);
        } catch (IllegalArgumentException e) {
            throw Settings.bad("mqtt.topicPrefix", prefix, "a non-empty prefix without leading or trailing '/' and without '+' or '#'");
        }
        String clientId = s.matching("mqtt.clientId", deviceId, Topics.DEVICE_ID, ID_RULE);
        String username = s.string("mqtt.username", null);
        String password = s.string("mqtt.password", null);
        if (password != null && username == null) {
            throw new ConfigException("mqtt.password: set without mqtt.username; MQTT sends a password only together with a user name");
        }
        Duration keepAlive = s.duration("mqtt.keepAlive", Duration.ofSeconds(30), Duration.ofSeconds(5), Duration.ofMinutes(10));
        int inflight = s.integer("mqtt.inflight", 10, 1, 1000);
        Duration min = s.duration("mqtt.reconnect.min", Duration.ofSeconds(1), Duration.ofMillis(100), Duration.ofMinutes(10));
        Duration max = s.duration("mqtt.reconnect.max", Duration.ofSeconds(60), Duration.ofSeconds(1), Duration.ofHours(1));
        if (max.compareTo(min) < 0) {
            throw Settings.bad("mqtt.reconnect.max", s.string("mqtt.reconnect.max", null),
                    "at least mqtt.reconnect.min (" + s.string("mqtt.reconnect.min", "1s") + ")");
        }
        return new MqttSettings(url, prefix, clientId, username, password, keepAlive, inflight, min, max);
    }

    private static boolean validPort(String url) {
        try {
            int port = new URI(url).getPort();
            return port == -1 || (port >= 1 && port <= 65_535);
        } catch (URISyntaxException e) {
            return false;
        }
    }

    /** For the start log line. */
    public String describeScanner() {
        return scanner.type() == ScannerType.SERIAL
                ? "serial " + scanner.port() + " " + scanner.baud() + " baud"
                : "stdin";
    }

    /** The allowed programs for a log line: {@code coffee, tea} or {@code any}. */
    public String describePrograms() {
        return cards.programs().isEmpty() ? "any" : cards.programs().stream().sorted().collect(Collectors.joining(", "));
    }
}
