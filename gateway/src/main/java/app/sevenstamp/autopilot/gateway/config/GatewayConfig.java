package app.sevenstamp.autopilot.gateway.config;

import app.sevenstamp.autopilot.gateway.outbox.OutboxLimits;
import app.sevenstamp.autopilot.gateway.scan.ScannerDetector;
import app.sevenstamp.autopilot.protocol.Topics;
import app.sevenstamp.autopilot.protocol.support.Settings;
import java.nio.file.Path;
import java.util.Objects;
import java.util.regex.Pattern;
import java.util.stream.Collectors;

/**
 * The gateway's configuration: immutable, read once at start from a properties file, every value
 * checked there. A bad value stops the start with a message naming the key, the value and what is
 * allowed; an unknown key (a typo) is refused rather than silently ignored.
 *
 * <p>Each area has its record and parser beside this one ({@link ScannerSettings}, {@link CardSettings},
 * {@link MqttSettings}, {@link FeedbackSettings}, {@link VoucherSettings}, the outbox's limits); every key, its
 * default and what it allows are declared once in {@link GatewayKeys}, from which docs/configuration.md's tables
 * are generated.
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
        OutboxLimits outboxLimits,
        VoucherSettings vouchers) {

    public static final Path SERIAL_BY_ID = Path.of("/dev/serial/by-id");

    static final String ID_RULE = "1 to 64 letters, digits, '_', '.' or '-', starting with a letter or digit";

    public GatewayConfig {
        Objects.requireNonNull(deviceId, "deviceId");
        Objects.requireNonNull(location, "location");
        Objects.requireNonNull(scanner, "scanner");
        Objects.requireNonNull(cards, "cards");
        Objects.requireNonNull(outboxDir, "outboxDir");
        Objects.requireNonNull(mqtt, "mqtt");
        Objects.requireNonNull(feedback, "feedback");
        Objects.requireNonNull(outboxLimits, "outboxLimits");
        Objects.requireNonNull(vouchers, "vouchers");
    }

    /** Reads and checks {@code file}, for this host. */
    public static GatewayConfig load(Path file, String hostName) {
        return from(Settings.load(file), hostName, SERIAL_BY_ID, ScannerDetector.INPUT_BY_ID);
    }

    /** As {@link #from(Settings, String, Path, Path)} with the system's {@code /dev/input/by-id}. */
    public static GatewayConfig from(Settings s, String hostName, Path serialByIdDir) {
        return from(s, hostName, serialByIdDir, ScannerDetector.INPUT_BY_ID);
    }

    /**
     * @param hostName     the source of the default device id
     * @param serialByIdDir where to look for serial devices to suggest when {@code scanner.port} is wrong,
     *                      and for scanner.type=auto
     * @param inputByIdDir  where scanner.type=auto and hid look for keyboard-mode scanners
     */
    public static GatewayConfig from(Settings s, String hostName, Path serialByIdDir, Path inputByIdDir) {
        Pattern id = Topics.DEVICE_ID;
        String deviceId = s.matching(GatewayKeys.DEVICE_ID.name(), defaultDeviceId(hostName), id, ID_RULE);
        String location = s.matching(GatewayKeys.DEVICE_LOCATION, id, ID_RULE);

        ScannerSettings scanner = ScannerSettings.read(s, serialByIdDir, inputByIdDir);

        CardSettings cards = CardSettings.read(s);

        Path outboxDir = OutboxKeys.dir(s);

        MqttSettings mqtt = MqttSettings.read(s, deviceId);

        FeedbackSettings feedback = FeedbackSettings.read(s);

        OutboxLimits outboxLimits = OutboxKeys.limits(s);

        VoucherSettings vouchers = VoucherSettings.read(s);

        s.rejectUnknownKeys();
        return new GatewayConfig(deviceId, location, scanner, cards, outboxDir, mqtt, feedback, outboxLimits, vouchers);
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

    /** For the start log line. */
    public String describeScanner() {
        return switch (scanner.type()) {
            case SERIAL -> "serial " + scanner.port() + " " + scanner.baud() + " baud";
            case HID -> "hid " + scanner.port() + " layout " + Settings.name(scanner.layout());
            case AUTO -> "auto (none found yet)";
            case STDIN -> "stdin";
        };
    }

    /** The allowed programs for a log line: {@code coffee, tea} or {@code any}. */
    public String describePrograms() {
        return cards.programs().isEmpty() ? "any" : cards.programs().stream().sorted().collect(Collectors.joining(", "));
    }
}
