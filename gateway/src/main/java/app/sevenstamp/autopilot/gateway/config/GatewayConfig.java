package app.sevenstamp.autopilot.gateway.config;

import app.sevenstamp.autopilot.gateway.scan.Affixes;
import app.sevenstamp.autopilot.gateway.scan.DevicePath;
import app.sevenstamp.autopilot.gateway.scan.EventSize;
import app.sevenstamp.autopilot.gateway.scan.KeyLayout;
import app.sevenstamp.autopilot.gateway.outbox.OutboxLimits;
import app.sevenstamp.autopilot.gateway.scan.ScanCharset;
import app.sevenstamp.autopilot.gateway.scan.ScannerDetector;
import app.sevenstamp.autopilot.gateway.scan.Terminator;
import app.sevenstamp.autopilot.protocol.Topics;
import app.sevenstamp.autopilot.protocol.card.CardCode;
import app.sevenstamp.autopilot.protocol.card.CardVerifier;
import app.sevenstamp.autopilot.protocol.support.ConfigException;
import app.sevenstamp.autopilot.protocol.support.MqttTls;
import app.sevenstamp.autopilot.protocol.support.Settings;
import java.io.IOException;
import java.net.URI;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.EnumSet;
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
 * <tr><td>scanner.type</td><td>{@code stdin}</td><td>{@code stdin}, {@code serial}, {@code hid}, {@code auto}</td></tr>
 * <tr><td>scanner.port</td><td>(required for serial; hid: {@code /dev/input/by-id/*-event-kbd})</td><td>an existing device, best {@code /dev/serial/by-id/...}, or a glob in the last part</td></tr>
 * <tr><td>scanner.baud</td><td>9600</td><td>1200..921600</td></tr>
 * <tr><td>scanner.terminator</td><td>{@code cr}</td><td>{@code cr}, {@code lf}, {@code crlf}, {@code tab}, {@code none} (serial); stdin also ends a scan at any CR or LF; hid always at Enter or Tab</td></tr>
 * <tr><td>scanner.interCharTimeout</td><td>100ms</td><td>10ms..5s; with terminator none, the pause that ends a scan</td></tr>
 * <tr><td>scanner.maxLength</td><td>256</td><td>16..4096 bytes</td></tr>
 * <tr><td>scanner.charset</td><td>{@code utf-8}</td><td>{@code utf-8}, {@code iso-8859-1}</td></tr>
 * <tr><td>scanner.prefix, scanner.suffix</td><td>(none)</td><td>text with {@code \t \r \n \\ \xHH}; removed when present</td></tr>
 * <tr><td>scanner.stripAim</td><td>true</td><td>true, false: remove a leading AIM symbology identifier ({@code ]Q1})</td></tr>
 * <tr><td>scanner.debounce</td><td>1500ms</td><td>0ms..10s; the same code again within it is one scan</td></tr>
 * <tr><td>scanner.layout</td><td>{@code us}</td><td>{@code us}, {@code de}, {@code fr} (hid)</td></tr>
 * <tr><td>scanner.grab</td><td>true</td><td>true, false (hid: EVIOCGRAB)</td></tr>
 * <tr><td>scanner.eventSize</td><td>{@code auto}</td><td>{@code auto}, {@code 16}, {@code 24} (hid: bytes of struct input_event)</td></tr>
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
 * <tr><td>mqtt.inflight</td><td>100</td><td>1..1000 events sent and not yet acknowledged by the sink</td></tr>
 * <tr><td>mqtt.reconnect.min</td><td>1s</td><td>100ms..10m</td></tr>
 * <tr><td>mqtt.reconnect.max</td><td>60s</td><td>1s..1h, at least mqtt.reconnect.min</td></tr>
 * <tr><td>mqtt.tls.ca</td><td>(none: the JVM's CA store)</td><td>a PEM file of the CA that signed the broker's certificate; needs an ssl:// mqtt.url</td></tr>
 * <tr><td>mqtt.tls.cert</td><td>(none)</td><td>a PEM client certificate (chain), with mqtt.tls.key</td></tr>
 * <tr><td>mqtt.tls.key</td><td>(none)</td><td>its private key, PEM PKCS#8 ({@code BEGIN PRIVATE KEY}), RSA or EC</td></tr>
 * <tr><td>feedback.type</td><td>{@code auto}</td><td>{@code auto} (GPIO on a Pi, else console), {@code console}, {@code gpio}</td></tr>
 * <tr><td>feedback.led</td><td>{@code pair}</td><td>{@code pair} (green + red LED), {@code rgb} (common-cathode RGB LED)</td></tr>
 * <tr><td>feedback.gpio.green</td><td>17</td><td>BCM 0..27, distinct from the other pins</td></tr>
 * <tr><td>feedback.gpio.red</td><td>27</td><td>BCM 0..27, distinct</td></tr>
 * <tr><td>feedback.gpio.blue</td><td>23</td><td>BCM 0..27, distinct; only with {@code feedback.led=rgb}</td></tr>
 * <tr><td>feedback.buzzer</td><td>{@code active}</td><td>{@code active} (digital output), {@code passive} (PWM tones), {@code none}</td></tr>
 * <tr><td>feedback.gpio.buzzer</td><td>22</td><td>BCM 0..27, distinct; only with {@code feedback.buzzer=active}</td></tr>
 * <tr><td>feedback.gpio.chip</td><td>{@code auto}</td><td>{@code auto} (the chip with the board's label, docs/hardware.md), or a label or name as gpiodetect prints it ({@code pinctrl-rp1}, {@code gpiochip0})</td></tr>
 * <tr><td>feedback.pwm.chip</td><td>{@code auto}</td><td>{@code auto} (the chip of the board's PWM block, docs/hardware.md) or 0..15 ({@code /sys/class/pwm/pwmchipN}); passive buzzer</td></tr>
 * <tr><td>feedback.pwm.channel</td><td>{@code auto}</td><td>{@code auto} (GPIO 18: 0 on a Pi 4, 2 on a Pi 5) or 0..3; passive buzzer</td></tr>
 * <tr><td>vouchers.answerTimeout</td><td>3s</td><td>500ms..30s; a scanned voucher without the sink's answer by then gets CANNOT_CHECK and is cancelled</td></tr>
 * <tr><td>feedback.gpio.activeLow</td><td>false</td><td>{@code true} (all), {@code false} (none), or a comma list of green, red, blue, buzzer</td></tr>
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
        OutboxLimits outboxLimits,
        VoucherSettings vouchers) {

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
        Objects.requireNonNull(vouchers, "vouchers");
    }

    /** @param answerTimeout how long a scanned voucher waits for the sink's answer before "cannot check now" */
    public record VoucherSettings(Duration answerTimeout) {
        public VoucherSettings {
            Objects.requireNonNull(answerTimeout, "answerTimeout");
        }
    }

    /** {@code AUTO} remains only when auto-detection found nothing at start: the gateway keeps looking. */
    public enum ScannerType { STDIN, SERIAL, HID, AUTO }

    public enum FeedbackType { AUTO, CONSOLE, GPIO }

    /** Two single LEDs, or one common-cathode RGB LED on three pins. */
    public enum LedType { PAIR, RGB }

    /** An active buzzer sounds when its pin is on; a passive one plays the PWM frequency as a tone. */
    public enum BuzzerType { ACTIVE, PASSIVE, NONE }

    /** The physical feedback outputs, as named in {@code feedback.gpio.activeLow}. */
    public enum FeedbackPin { GREEN, RED, BLUE, BUZZER }

    /**
     * @param port             the device path or glob; null for stdin and for auto that found nothing yet
     * @param interCharTimeout with terminator none, the pause that ends a scan
     * @param affixes          what to remove around each scan (prefix, AIM identifier, suffix)
     * @param debounce         the same code again within this is one scan; zero turns it off
     * @param layout           hid: the keyboard layout the scanner is set to
     * @param grab             hid: take the device exclusively (EVIOCGRAB)
     * @param eventSize        hid: bytes of struct input_event for this JVM
     * @param autoReason       with scanner.type=auto: what was chosen and why, or why nothing; null otherwise
     * @param serialByIdDir    where auto-detection looks for serial scanners
     * @param inputByIdDir     where auto-detection looks for keyboard-mode scanners
     */
    public record ScannerSettings(ScannerType type, String port, int baud, Terminator terminator, int maxLength,
            ScanCharset charset, Duration interCharTimeout, Affixes affixes, Duration debounce, KeyLayout layout,
            boolean grab, EventSize eventSize, String autoReason, Path serialByIdDir, Path inputByIdDir) {

        public ScannerSettings {
            Objects.requireNonNull(type, "type");
            Objects.requireNonNull(terminator, "terminator");
            Objects.requireNonNull(charset, "charset");
            Objects.requireNonNull(interCharTimeout, "interCharTimeout");
            Objects.requireNonNull(affixes, "affixes");
            Objects.requireNonNull(debounce, "debounce");
            Objects.requireNonNull(layout, "layout");
            Objects.requireNonNull(eventSize, "eventSize");
            Objects.requireNonNull(serialByIdDir, "serialByIdDir");
            Objects.requireNonNull(inputByIdDir, "inputByIdDir");
        }
    }

    /** @param programs the allowed programs; empty allows every program signed by a trusted key */
    public record CardSettings(List<String> trustedKeys, Set<String> programs, CardVerifier verifier) {
        public CardSettings {
            trustedKeys = List.copyOf(trustedKeys);
            programs = Set.copyOf(programs);
        }
    }

    /** @param username null for anonymous; @param password null when none; @param tls {@link MqttTls#NONE} when unset */
    public record MqttSettings(String url, String topicPrefix, String clientId, String username, String password,
            Duration keepAlive, int inflight, Duration reconnectMin, Duration reconnectMax, MqttTls tls) {

        public MqttSettings {
            Objects.requireNonNull(tls, "tls");
        }

        /** Without TLS files (plain TCP, or ssl:// with the JVM's CA store). */
        public MqttSettings(String url, String topicPrefix, String clientId, String username, String password,
                Duration keepAlive, int inflight, Duration reconnectMin, Duration reconnectMax) {
            this(url, topicPrefix, clientId, username, password, keepAlive, inflight, reconnectMin, reconnectMax,
                    MqttTls.NONE);
        }

        /** Never prints the password. */
        @Override
        public String toString() {
            return "MqttSettings[url=" + url + ", topicPrefix=" + topicPrefix + ", clientId=" + clientId
                    + ", username=" + username + ", password=" + (password == null ? "none" : "***")
                    + ", keepAlive=" + keepAlive + ", inflight=" + inflight + ", reconnectMin=" + reconnectMin
                    + ", reconnectMax=" + reconnectMax + ", tls=" + tls.describe() + "]";
        }
    }

    /**
     * LED and buzzer hardware. {@code bluePin} is used only with {@link LedType#RGB}, {@code buzzerPin} only with
     * {@link BuzzerType#ACTIVE}; {@code pwmChip} and {@code pwmChannel} only with {@link BuzzerType#PASSIVE}, where
     * {@link #AUTO} means "find it from the board".
     *
     * @param activeLow the outputs driven low to switch them on
     */
    public record FeedbackSettings(FeedbackType type, LedType led, int greenPin, int redPin, int bluePin,
            BuzzerType buzzer, int buzzerPin, int pwmChip, int pwmChannel, Set<FeedbackPin> activeLow,
            String gpioChip) {
        public static final int AUTO = -1;
        /** {@code feedback.gpio.chip} when the chip is found from the board. */
        public static final String AUTO_CHIP = "auto";

        /**
         * @param gpioChip {@link #AUTO_CHIP} (the chip with the board's label) or a gpiochip's label or name
         */
        public FeedbackSettings {
            Objects.requireNonNull(type, "type");
            Objects.requireNonNull(led, "led");
            Objects.requireNonNull(buzzer, "buzzer");
            Objects.requireNonNull(gpioChip, "gpioChip");
            activeLow = activeLow.isEmpty() ? Set.of() : Set.copyOf(EnumSet.copyOf(activeLow));
        }

        /** With the header's chip found from the board. */
        public FeedbackSettings(FeedbackType type, LedType led, int greenPin, int redPin, int bluePin,
                BuzzerType buzzer, int buzzerPin, int pwmChip, int pwmChannel, Set<FeedbackPin> activeLow) {
            this(type, led, greenPin, redPin, bluePin, buzzer, buzzerPin, pwmChip, pwmChannel, activeLow, AUTO_CHIP);
        }

        /** The configured outputs and their BCM lines, in the order they are wired: green, red, blue, buzzer. */
        public java.util.Map<FeedbackPin, Integer> lines() {
            java.util.Map<FeedbackPin, Integer> lines = new java.util.EnumMap<>(FeedbackPin.class);
            lines.put(FeedbackPin.GREEN, greenPin);
            lines.put(FeedbackPin.RED, redPin);
            if (led == LedType.RGB) {
                lines.put(FeedbackPin.BLUE, bluePin);
            }
            if (buzzer == BuzzerType.ACTIVE) {
                lines.put(FeedbackPin.BUZZER, buzzerPin);
            }
            return lines;
        }

        /** Green and red LEDs, an active buzzer, all active-high: the wiring in the README. */
        public static FeedbackSettings pair(FeedbackType type, int greenPin, int redPin, int buzzerPin) {
            return new FeedbackSettings(type, LedType.PAIR, greenPin, redPin, 23, BuzzerType.ACTIVE, buzzerPin,
                    AUTO, AUTO, Set.of());
        }

        public boolean activeLow(FeedbackPin pin) {
            return activeLow.contains(pin);
        }

        /** For the start log line: {@code green=17 red=27 buzzer=22 (active) active-low=red}. */
        public String describe() {
            StringBuilder b = new StringBuilder();
            b.append(led == LedType.RGB ? "rgb " : "").append("green=").append(greenPin).append(" red=").append(redPin);
            if (led == LedType.RGB) {
                b.append(" blue=").append(bluePin);
            }
            switch (buzzer) {
                case ACTIVE -> b.append(" buzzer=").append(buzzerPin).append(" (active)");
                case PASSIVE -> b.append(" buzzer=pwm chip ").append(pwmChip == AUTO ? "auto" : pwmChip)
                        .append(" channel ").append(pwmChannel == AUTO ? "auto" : pwmChannel).append(" (passive)");
                case NONE -> b.append(" buzzer=none");
            }
            if (!activeLow.isEmpty()) {
                b.append(" active-low=").append(activeLow.stream().sorted().map(p -> Settings.name(p))
                        .collect(Collectors.joining(",")));
            }
            return b.toString();
        }
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
        String deviceId = s.matching("device.id", defaultDeviceId(hostName), id, ID_RULE);
        String location = s.matching("device.location", "default", id, ID_RULE);

        ScannerSettings scanner = scanner(s, serialByIdDir, inputByIdDir);

        CardSettings cards = cards(s);

        String dir = s.string("outbox.dir", "./data/gateway");
        Path outboxDir = Path.of(dir);
        if (Files.exists(outboxDir) && !Files.isDirectory(outboxDir)) {
            throw Settings.bad("outbox.dir", dir, "a directory (this is a file)");
        }

        MqttSettings mqtt = mqtt(s, deviceId);

        FeedbackSettings feedback = feedback(s);

        OutboxLimits outboxLimits = outboxLimits(s);

        // long enough for a round trip over a shop's uplink, short enough that the customer is still there
        VoucherSettings vouchers = new VoucherSettings(
                s.duration("vouchers.answerTimeout", Duration.ofSeconds(3), Duration.ofMillis(500), Duration.ofSeconds(30)));

        s.rejectUnknownKeys();
        return new GatewayConfig(deviceId, location, scanner, cards, outboxDir, mqtt, feedback, outboxLimits, vouchers);
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

    private static FeedbackSettings feedback(Settings s) {
        FeedbackType type = s.choice("feedback.type", FeedbackType.AUTO, FeedbackType.class);
        LedType led = s.choice("feedback.led", LedType.PAIR, LedType.class);
        BuzzerType buzzer = s.choice("feedback.buzzer", BuzzerType.ACTIVE, BuzzerType.class);
        int green = s.integer("feedback.gpio.green", 17, 0, 27);
        int red = s.integer("feedback.gpio.red", 27, 0, 27);
        int blue = s.integer("feedback.gpio.blue", 23, 0, 27);
        int buzzerPin = s.integer("feedback.gpio.buzzer", 22, 0, 27);
        int chip = autoOr(s, "feedback.pwm.chip", 15);
        int channel = autoOr(s, "feedback.pwm.channel", 3);
        if (red == green) {
            throw Settings.bad("feedback.gpio.red", String.valueOf(red), "a BCM pin 0..27 not used by feedback.gpio.green");
        }
        if (led == LedType.RGB && (blue == green || blue == red)) {
            throw Settings.bad("feedback.gpio.blue", String.valueOf(blue),
                    "a BCM pin 0..27 not used by feedback.gpio.green or feedback.gpio.red");
        }
        if (buzzer == BuzzerType.ACTIVE && (buzzerPin == green || buzzerPin == red
                || (led == LedType.RGB && buzzerPin == blue))) {
            throw Settings.bad("feedback.gpio.buzzer", String.valueOf(buzzerPin), "a BCM pin 0..27 not used by "
                    + (led == LedType.RGB ? "feedback.gpio.green, feedback.gpio.red or feedback.gpio.blue"
                            : "feedback.gpio.green or feedback.gpio.red"));
        }
        Set<FeedbackPin> activeLow = activeLow(s);
        if (buzzer == BuzzerType.PASSIVE && activeLow.contains(FeedbackPin.BUZZER)) {
            throw Settings.bad("feedback.gpio.activeLow", s.string("feedback.gpio.activeLow", ""),
                    "outputs other than buzzer while feedback.buzzer is passive (a PWM tone has no active level)");
        }
        String gpioChip = s.string("feedback.gpio.chip", FeedbackSettings.AUTO_CHIP).trim();
        if (!GPIO_CHIP.matcher(gpioChip).matches()) {
            throw Settings.bad("feedback.gpio.chip", gpioChip,
                    "auto, or the label or name of a GPIO chip as gpiodetect prints it (pinctrl-rp1, gpiochip0)");
        }
        return new FeedbackSettings(type, led, green, red, blue, buzzer, buzzerPin, chip, channel, activeLow, gpioChip);
    }

    /** A gpiochip label or name: at most 31 characters (the kernel's label field), no spaces or slashes. */
    private static final Pattern GPIO_CHIP = Pattern.compile("[A-Za-z0-9][A-Za-z0-9_.@:-]{0,30}");

    private static int autoOr(Settings s, String key, int max) {
        String value = s.string(key, "auto");
        if (value.equalsIgnoreCase("auto")) {
            return FeedbackSettings.AUTO;
        }
        try {
            int n = Integer.parseInt(value);
            if (n >= 0 && n <= max) {
                return n;
            }
        } catch (NumberFormatException e) {
            // reported below with what is allowed
        }
        throw Settings.bad(key, value, "auto or a whole number in 0.." + max);
    }

    /** {@code true} is every output, {@code false} none, otherwise a comma list of output names. */
    private static Set<FeedbackPin> activeLow(Settings s) {
        String value = s.string("feedback.gpio.activeLow", "false");
        String lower = value.toLowerCase(Locale.ROOT);
        if (lower.equals("true")) {
            return EnumSet.allOf(FeedbackPin.class);
        }
        if (lower.equals("false")) {
            return Set.of();
        }
        EnumSet<FeedbackPin> pins = EnumSet.noneOf(FeedbackPin.class);
        for (String name : s.list("feedback.gpio.activeLow")) {
            FeedbackPin pin = Stream.of(FeedbackPin.values()).filter(p -> Settings.name(p).equals(name.toLowerCase(Locale.ROOT)))
                    .findFirst().orElseThrow(() -> Settings.bad("feedback.gpio.activeLow", value,
                            "true, false, or a comma list of green, red, blue, buzzer"));
            pins.add(pin);
        }
        return pins;
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

    private static ScannerSettings scanner(Settings s, Path serialByIdDir, Path inputByIdDir) {
        ScannerType type = s.choice("scanner.type", ScannerType.STDIN, ScannerType.class);
        String port = s.string("scanner.port", null);
        int baud = s.integer("scanner.baud", 9600, 1200, 921_600);
        Terminator terminator = s.choice("scanner.terminator", Terminator.CR, Terminator.class);
        Duration interChar = s.duration("scanner.interCharTimeout", Duration.ofMillis(100), Duration.ofMillis(10),
                Duration.ofSeconds(5));
        int maxLength = s.integer("scanner.maxLength", 256, 16, 4096);
        ScanCharset charset = s.choice("scanner.charset", ScanCharset.UTF_8, ScanCharset.class);
        Affixes affixes = new Affixes(affix(s, "scanner.prefix"), affix(s, "scanner.suffix"),
                s.bool("scanner.stripAim", true));
        Duration debounce = s.duration("scanner.debounce", Duration.ofMillis(1500), Duration.ZERO, Duration.ofSeconds(10));
        KeyLayout layout = s.choice("scanner.layout", KeyLayout.US, KeyLayout.class);
        boolean grab = s.bool("scanner.grab", true);
        String size = s.string("scanner.eventSize", "auto");
        EventSize eventSize = EventSize.parse(size);
        if (eventSize == null) {
            throw Settings.bad("scanner.eventSize", size, "auto (from the JVM: 24 on 64-bit, 16 on 32-bit armhf), 16 or 24");
        }

        String autoReason = null;
        if (type == ScannerType.AUTO) {
            if (port != null) {
                throw Settings.bad("scanner.port", port, "nothing with scanner.type=auto (it finds the device); "
                        + "set scanner.type=serial or hid to name one");
            }
            ScannerDetector.Detection found = new ScannerDetector(serialByIdDir, inputByIdDir).detect();
            if (found instanceof ScannerDetector.Detection.Several several) {
                throw new ConfigException(several.message());
            } else if (found instanceof ScannerDetector.Detection.Found one) {
                type = one.kind() == ScannerDetector.Kind.SERIAL ? ScannerType.SERIAL : ScannerType.HID;
                port = one.device().toString();
                autoReason = "scanner.type=auto chose " + port + ": " + one.reason();
            } else {
                autoReason = ((ScannerDetector.Detection.None) found).message();
            }
        } else if (type == ScannerType.SERIAL) {
            if (port == null) {
                throw new ConfigException("scanner.port: missing; required when scanner.type is serial; "
                        + candidates(serialByIdDir, false, "serial"));
            }
            checkPort(port, serialByIdDir, false, "serial");
        } else if (type == ScannerType.HID) {
            port = port == null ? inputByIdDir.resolve("*" + ScannerDetector.KEYBOARD_SUFFIX).toString() : port;
            checkPort(port, inputByIdDir, true, "keyboard");
        } else {
            port = null; // stdin: a port left over from a serial setup does no harm
        }
        if (type == ScannerType.HID && terminator == Terminator.NONE) {
            throw Settings.bad("scanner.terminator", "none", "cr, lf, crlf or tab with scanner.type=hid "
                    + "(a keyboard-mode scanner ends each scan with Enter or Tab, and both end a scan)");
        }
        return new ScannerSettings(type, port, baud, terminator, maxLength, charset, interChar, affixes, debounce,
                layout, grab, eventSize, autoReason, serialByIdDir, inputByIdDir);
    }

    /** A plain path must exist now (a typo is caught at start); a glob may match nothing until it is plugged in. */
    private static void checkPort(String port, Path byIdDir, boolean keyboards, String mode) {
        DevicePath path;
        try {
            path = DevicePath.of(port);
        } catch (IllegalArgumentException e) {
            throw Settings.bad("scanner.port", port, "a device path, or a glob in its last part like "
                    + byIdDir.resolve(keyboards ? "*-event-kbd" : "*Honeywell*") + " (" + e.getMessage() + ")");
        }
        if (!path.isGlob() && !Files.exists(Path.of(port))) {
            throw new ConfigException("scanner.port: '" + port + "' does not exist; " + candidates(byIdDir, keyboards, mode));
        }
    }

    private static String candidates(Path byIdDir, boolean keyboards, String mode) {
        List<String> found = new ArrayList<>();
        try (Stream<Path> entries = Files.list(byIdDir)) {
            entries.filter(p -> !keyboards || p.getFileName().toString().endsWith(ScannerDetector.KEYBOARD_SUFFIX))
                    .map(Path::toString).sorted().forEach(found::add);
        } catch (IOException | SecurityException e) {
            // no such directory: no device of that kind is plugged in
        }
        return found.isEmpty()
                ? "no devices in " + byIdDir + " (is the scanner plugged in and set to " + mode + " mode?)"
                : "found " + String.join(", ", found);
    }

    private static String affix(Settings s, String key) {
        String raw = s.string(key, "");
        String value = Affixes.unescape(raw);
        if (value == null) {
            throw Settings.bad(key, raw, "text, with the escapes \\t \\r \\n \\\\ and \\xHH (STX is \\x02)");
        }
        return value;
    }

    /** The {@code cards.*} keys alone: also what the fleet checks before it applies them live. */
    public static CardSettings cards(Settings s) {
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
        // 100, not 10: a backlog drains 5.6x faster (docs/performance.md); resends after a reconnect are answered DUPLICATE
        int inflight = s.integer("mqtt.inflight", 100, 1, 1000);
        Duration min = s.duration("mqtt.reconnect.min", Duration.ofSeconds(1), Duration.ofMillis(100), Duration.ofMinutes(10));
        Duration max = s.duration("mqtt.reconnect.max", Duration.ofSeconds(60), Duration.ofSeconds(1), Duration.ofHours(1));
        if (max.compareTo(min) < 0) {
            throw Settings.bad("mqtt.reconnect.max", s.string("mqtt.reconnect.max", null),
                    "at least mqtt.reconnect.min (" + s.string("mqtt.reconnect.min", "1s") + ")");
        }
        MqttTls tls = MqttTls.from(s, "mqtt.tls.", "mqtt.url", url);
        return new MqttSettings(url, prefix, clientId, username, password, keepAlive, inflight, min, max, tls);
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
