package app.sevenstamp.autopilot.gateway.config;

import static app.sevenstamp.autopilot.protocol.support.ConfigKey.bool;
import static app.sevenstamp.autopilot.protocol.support.ConfigKey.choice;
import static app.sevenstamp.autopilot.protocol.support.ConfigKey.duration;
import static app.sevenstamp.autopilot.protocol.support.ConfigKey.integer;
import static app.sevenstamp.autopilot.protocol.support.ConfigKey.see;
import static app.sevenstamp.autopilot.protocol.support.ConfigKey.size;
import static app.sevenstamp.autopilot.protocol.support.ConfigKey.text;

import app.sevenstamp.autopilot.gateway.config.FeedbackSettings.BuzzerType;
import app.sevenstamp.autopilot.gateway.config.FeedbackSettings.FeedbackType;
import app.sevenstamp.autopilot.gateway.config.FeedbackSettings.LedType;
import app.sevenstamp.autopilot.gateway.config.ScannerSettings.ScannerType;
import app.sevenstamp.autopilot.gateway.scan.KeyLayout;
import app.sevenstamp.autopilot.gateway.scan.ScanCharset;
import app.sevenstamp.autopilot.gateway.scan.Terminator;
import app.sevenstamp.autopilot.protocol.Topics;
import app.sevenstamp.autopilot.protocol.support.ConfigKey;
import app.sevenstamp.autopilot.protocol.support.ConfigKey.Remote;
import app.sevenstamp.autopilot.protocol.support.ConfigKey.Type;
import java.util.List;
import java.util.Optional;
import java.util.stream.Collectors;
import java.util.stream.Stream;

/**
 * Every key of the gateway's configuration, once: name, default, what is allowed, what it means and whether the
 * sink's desired configuration may set it. The parsers ({@link GatewayConfig} and the {@code *Settings} of this
 * package, {@code fleet.FleetSettings}) read through these constants, and docs/configuration.md's gateway tables
 * are generated from the lists below (GatewayKeysDocsTest). A new key: a constant here, in its section's list,
 * one read in its parser; then regenerate the docs.
 */
public final class GatewayKeys {
    private GatewayKeys() {
    }

    private static final String ID_ALLOWED = "1-64 of `A-Za-z0-9_.-`, starting with a letter or digit";
    private static final String PIN = "BCM {range}, distinct";

    public static final ConfigKey DEVICE_ID = text("device.id", null, ID_ALLOWED,
            "the box's name on the wire (topics, events)").defaultDoc("host name, sanitised");
    public static final ConfigKey DEVICE_LOCATION = text("device.location", "default", "as device.id",
            "the shop or counter it stands at; copied into every event");

    public static final ConfigKey SCANNER_TYPE = choice("scanner.type", ScannerType.STDIN,
            "where scans come from (above)");
    public static final ConfigKey SCANNER_PORT = text("scanner.port", null,
            "a device path, best a by-id name, or a glob in its last part; a plain path must exist at start",
            "the scanner's device").defaultDoc("serial: required; hid: `/dev/input/by-id/*-event-kbd`");
    public static final ConfigKey SCANNER_BAUD = integer("scanner.baud", 9600, 1200, 921_600,
            "serial speed (CDC-ACM scanners ignore it)");
    public static final ConfigKey SCANNER_TERMINATOR = choice("scanner.terminator", Terminator.CR,
            "what ends one scan; stdin also ends at any CR or LF; hid at Enter or Tab").allowed("{values} (serial only)");
    public static final ConfigKey SCANNER_INTER_CHAR_TIMEOUT = duration("scanner.interCharTimeout", "100ms", "10ms", "5s",
            "with `terminator=none`: the pause that ends a scan");
    public static final ConfigKey SCANNER_MAX_LENGTH = integer("scanner.maxLength", 256, 16, 4096,
            "a longer scan is refused as too long (one MALFORMED reject); an empty line is ignored, a spaces-only scan "
                    + "refused as blank").allowed("{range} bytes");
    public static final ConfigKey SCANNER_CHARSET = choice("scanner.charset", ScanCharset.UTF_8,
            "how serial bytes become text");
    private static final String AFFIX = "text with `\\t \\r \\n \\\\ \\xHH` (doubled backslashes in the file)";
    public static final ConfigKey SCANNER_PREFIX = text("scanner.prefix", "", AFFIX,
            "removed from the start of each scan when present").defaultDoc("(none)");
    public static final ConfigKey SCANNER_SUFFIX = text("scanner.suffix", "", AFFIX,
            "removed from the end of each scan when present").defaultDoc("(none)");
    public static final ConfigKey SCANNER_STRIP_AIM = bool("scanner.stripAim", true,
            "remove a leading AIM symbology identifier (`]Q1`)");
    public static final ConfigKey SCANNER_DEBOUNCE = duration("scanner.debounce", "1500ms", "0ms", "10s",
            "the same code again within this is one scan (not for stdin)").allowed("{range} (0 turns it off)");
    public static final ConfigKey SCANNER_LAYOUT = choice("scanner.layout", KeyLayout.US,
            "hid: the keyboard layout the scanner is set to");
    public static final ConfigKey SCANNER_GRAB = bool("scanner.grab", true,
            "hid: take the device exclusively (`EVIOCGRAB`)");
    public static final ConfigKey SCANNER_EVENT_SIZE = text("scanner.eventSize", "auto", "`auto`, `16`, `24`",
            "hid: bytes of `struct input_event` (24 on 64-bit, 16 on armhf)");

    public static final ConfigKey CARDS_TRUSTED_KEYS = text("cards.trustedKeys", null,
            "comma list of `keyId:base64url`, as printed by `autopilot-sink keys show`",
            "public keys of the sink(s) whose cards this box accepts").defaultDoc("(required)").remote(Remote.LIVE);
    public static final ConfigKey CARDS_PROGRAMS = text("cards.programs", null, "comma list of program ids",
            "programs this counter stamps; others are rejected as UNKNOWN_PROGRAM")
            .defaultDoc("(empty: every program signed by a trusted key)").remote(Remote.LIVE);

    public static final ConfigKey OUTBOX_DIR = text("outbox.dir", "./data/gateway", "a directory (created if missing)",
            "where the H2 outbox lives (stamps not yet acknowledged by the sink)");
    public static final ConfigKey OUTBOX_MAX_EVENTS = integer("outbox.maxEvents", 1_000_000, 100, 100_000_000,
            "unsent stamps kept at most; beyond it a scan is refused with STORAGE_FAULT (never dropped silently)");
    public static final ConfigKey OUTBOX_MAX_BYTES = size("outbox.maxBytes", "512MB", "1MB", "1TB",
            "the outbox file's size limit; from a quarter of it the file is compacted when that frees an eighth of it")
            .allowed("{range} (`B`, `KB`, `MB`, `GB`, `TB`)");
    public static final ConfigKey OUTBOX_MIN_FREE_BYTES = size("outbox.minFreeBytes", "16MB", "0", "1TB",
            "space kept free on the outbox's disk");
    public static final ConfigKey OUTBOX_NEAR_FULL_PERCENT = integer("outbox.nearFullPercent", 80, 50, 99,
            "where the near-full alarm (log, status, STORAGE_NEAR_FULL signal) starts");

    public static final ConfigKey MQTT_URL = text("mqtt.url", "tcp://127.0.0.1:1883",
            "`tcp://HOST:PORT` or `ssl://HOST:PORT`", "the broker");
    public static final ConfigKey MQTT_TOPIC_PREFIX = text("mqtt.topicPrefix", Topics.DEFAULT_PREFIX,
            "no leading or trailing `/`, no wildcards", "must match the sink's");
    public static final ConfigKey MQTT_CLIENT_ID = text("mqtt.clientId", null, "as device.id",
            "MQTT client id; keep it stable").defaultDoc("device.id");
    public static final ConfigKey MQTT_USERNAME = text("mqtt.username", null, "any", "broker credentials");
    public static final ConfigKey MQTT_PASSWORD = text("mqtt.password", null, "any; needs mqtt.username; never logged",
            "broker credentials");
    public static final ConfigKey MQTT_KEEP_ALIVE = duration("mqtt.keepAlive", "30s", "5s", "10m",
            "how soon a dead connection is noticed (about 1.5 × this)").remote(Remote.RESTART);
    public static final ConfigKey MQTT_CONNECT_TIMEOUT = duration("mqtt.connectTimeout", "10s", "1s", "2m",
            "how long one connection attempt may take before it counts as failed; more for slow mobile links")
            .allowed("whole seconds from 1s to 2m");
    // 100, not 10: a backlog drains 5.6x faster (docs/performance.md); resends after a reconnect are answered DUPLICATE
    public static final ConfigKey MQTT_INFLIGHT = integer("mqtt.inflight", 100, 1, 1000,
            "stamps sent and awaiting the sink's ack at once")
            .allowed("{range} events sent and not yet acknowledged by the sink");
    public static final ConfigKey MQTT_RECONNECT_MIN = duration("mqtt.reconnect.min", "1s", "100ms", "10m",
            "first reconnect delay (exponential backoff with jitter)");
    public static final ConfigKey MQTT_RECONNECT_MAX = duration("mqtt.reconnect.max", "60s", "1s", "1h",
            "longest reconnect delay").allowed("{range}, at least mqtt.reconnect.min");
    public static final ConfigKey MQTT_TLS_CA = text("mqtt.tls.ca", null, "a PEM file; needs an `ssl://` mqtt.url",
            "the CA that signed the broker's certificate (see [operations.md](operations.md#tls))")
            .defaultDoc("(none: the JVM's CA store)");
    public static final ConfigKey MQTT_TLS_CERT = text("mqtt.tls.cert", null,
            "a PEM certificate (chain); with mqtt.tls.key", "client certificate, for brokers that require one");
    public static final ConfigKey MQTT_TLS_KEY = text("mqtt.tls.key", null,
            "PEM PKCS#8 (`BEGIN PRIVATE KEY`), RSA or EC; must match mqtt.tls.cert", "the client certificate's key");

    // long enough for a round trip over a shop's uplink, short enough that the customer is still there
    public static final ConfigKey VOUCHERS_ANSWER_TIMEOUT = duration("vouchers.answerTimeout", "3s", "500ms", "30s",
            "how long a scanned voucher waits for the sink's answer; then CANNOT_CHECK and the request is cancelled "
                    + "(see [vouchers.md](vouchers.md#redeeming-a-voucher-at-the-box))");

    public static final ConfigKey FEEDBACK_TYPE = choice("feedback.type", FeedbackType.AUTO,
            "GPIO on a Pi and console elsewhere; or force one").remote(Remote.RESTART);
    public static final ConfigKey FEEDBACK_LED = choice("feedback.led", LedType.PAIR,
            "a green and a red LED, or one common-cathode RGB LED on three pins");
    public static final ConfigKey FEEDBACK_GPIO_GREEN = integer("feedback.gpio.green", 17, 0, 27,
            "green LED (or the RGB LED's green leg)").allowed(PIN);
    public static final ConfigKey FEEDBACK_GPIO_RED = integer("feedback.gpio.red", 27, 0, 27,
            "red LED (or red leg)").allowed(PIN);
    public static final ConfigKey FEEDBACK_GPIO_BLUE = integer("feedback.gpio.blue", 23, 0, 27,
            "the RGB LED's blue leg; only with `feedback.led=rgb`").allowed(PIN);
    public static final ConfigKey FEEDBACK_BUZZER = choice("feedback.buzzer", BuzzerType.ACTIVE,
            "an active buzzer on a digital output, a passive one on PWM playing tones, or no buzzer");
    public static final ConfigKey FEEDBACK_GPIO_BUZZER = integer("feedback.gpio.buzzer", 22, 0, 27,
            "the active buzzer's pin; only with `feedback.buzzer=active`").allowed(PIN);
    public static final ConfigKey FEEDBACK_GPIO_CHIP = text("feedback.gpio.chip", "auto",
            "`auto`, a label or name as `gpiodetect` prints it",
            "the header's GPIO chip; `auto` is the board's label (docs/hardware.md)");
    public static final ConfigKey FEEDBACK_PWM_CHIP = autoOr("feedback.pwm.chip", 15,
            "`/sys/class/pwm/pwmchipN` for a passive buzzer");
    public static final ConfigKey FEEDBACK_PWM_CHANNEL = autoOr("feedback.pwm.channel", 3,
            "its PWM channel; `auto` is GPIO 18 (0 on a Pi 4, 2 on a Pi 5)");
    public static final ConfigKey FEEDBACK_GPIO_ACTIVE_LOW = text("feedback.gpio.activeLow", "false",
            "`true`, `false`, or a comma list of `green`, `red`, `blue`, `buzzer`",
            "outputs driven low to switch them on (an LED wired from 3.3 V to the pin, a PNP stage, most relay "
                    + "boards); not the passive buzzer");

    public static final ConfigKey PROVISION_CLAIM_TOKEN = text("provision.claimToken", null,
            "a token from `autopilot-sink claims create`",
            "with it, the box asks the sink for its identity on first start (see "
                    + "[operations.md](operations.md#provisioning)); device.id, mqtt.username/password and "
                    + "cards.trustedKeys then come from the sink").defaultDoc("(none: no provisioning)");
    public static final ConfigKey PROVISION_USERNAME = text("provision.username", "provision", "any",
            "the shared, low-privilege provisioning account on the broker (not a secret)");
    public static final ConfigKey PROVISION_PASSWORD = text("provision.password", "provision", "any", "its password");
    public static final ConfigKey PROVISION_HARDWARE_ID = text("provision.hardwareId", null,
            "any text up to 128 characters", "the identity the claim binds to; set it only for tests and VMs")
            .defaultDoc("the Pi's serial (`/proc/cpuinfo` Serial, `/proc/device-tree/serial-number`), else "
                    + "`/etc/machine-id`");
    public static final ConfigKey PROVISION_TIMEOUT = duration("provision.timeout", "15s", "1s", "5m",
            "how long one provisioning attempt waits for the sink; attempts repeat with backoff up to 60 s");
    public static final ConfigKey FLEET_HEARTBEAT = duration("fleet.heartbeat", "60s", "1s", "1h",
            "how often the retained status is refreshed; can be changed remotely without a restart")
            .remote(Remote.LIVE);
    public static final ConfigKey LOG_LEVEL = text("log.level", "info", "`trace`, `debug`, `info`, `warn`, `error`",
            "log level (read at start)").remote(Remote.RESTART);

    public static final ConfigKey UPDATE_TRUSTED_KEY = text("update.trustedKey", null,
            "base64url of 32 bytes: the line `autopilot-sink update key` prints", "the sink's update public key")
            .defaultDoc("(none: updates off)").remote(Remote.IGNORED);
    public static final ConfigKey UPDATE_MAX_MEGABYTES = integer("update.maxMegabytes", 200, 1, 2000,
            "the largest .deb the box downloads").allowed("{range} MB").remote(Remote.IGNORED);
    public static final ConfigKey UPDATE_HEALTH_TIMEOUT = duration("update.healthTimeout", "2m", "5s", "30m",
            "how long the new version has to reach the broker after its install; then the previous one is reinstalled")
            .remote(Remote.IGNORED);
    public static final ConfigKey UPDATE_INSTALL_COMMAND = text("update.installCommand", UpdateSettings.DEFAULT_INSTALL,
            "a shell command (`sh -c`)", "run by root with the .deb as `$1` (also for the rollback)").remote(Remote.IGNORED);
    public static final ConfigKey UPDATE_RESTART_COMMAND = text("update.restartCommand", UpdateSettings.DEFAULT_RESTART,
            "a shell command (`sh -c`)", "run by root after each install").remote(Remote.IGNORED);
    public static final ConfigKey UPDATE_TRIGGER = text("update.trigger", "", "a shell command",
            "run by the gateway (as its own user) once a request is queued, for a box without the path unit")
            .defaultDoc("(none: the path unit `7stamp-gateway-update.path` watches the queue)").remote(Remote.IGNORED);
    public static final ConfigKey UPDATE_KEEP_DIR = text("update.keepDir", "/var/lib/7stamp-autopilot-update",
            "a directory", "root's copies: the installed version's .deb and the one being installed").remote(Remote.IGNORED);
    public static final ConfigKey UPDATE_PACKAGE = text("update.package", "7stamp-autopilot-gateway", "a package name",
            "the Debian package whose installed version is read").remote(Remote.IGNORED);
    public static final ConfigKey UPDATE_DPKG_STATUS = text("update.dpkgStatus", "/var/lib/dpkg/status", "a file",
            "dpkg's status file, where the installed version is read").remote(Remote.IGNORED);

    /** The keys of the scanner table, in its order. */
    public static final List<ConfigKey> SCANNER = List.of(SCANNER_TYPE, SCANNER_PORT, SCANNER_BAUD, SCANNER_TERMINATOR,
            SCANNER_INTER_CHAR_TIMEOUT, SCANNER_MAX_LENGTH, SCANNER_CHARSET, SCANNER_PREFIX, SCANNER_SUFFIX,
            SCANNER_STRIP_AIM, SCANNER_DEBOUNCE, SCANNER_LAYOUT, SCANNER_GRAB, SCANNER_EVENT_SIZE);

    public static final List<ConfigKey> FEEDBACK = List.of(FEEDBACK_TYPE, FEEDBACK_LED, FEEDBACK_GPIO_GREEN,
            FEEDBACK_GPIO_RED, FEEDBACK_GPIO_BLUE, FEEDBACK_BUZZER, FEEDBACK_GPIO_BUZZER, FEEDBACK_GPIO_CHIP,
            FEEDBACK_PWM_CHIP, FEEDBACK_PWM_CHANNEL, FEEDBACK_GPIO_ACTIVE_LOW);

    public static final List<ConfigKey> UPDATE = List.of(UPDATE_TRUSTED_KEY, UPDATE_MAX_MEGABYTES, UPDATE_HEALTH_TIMEOUT,
            UPDATE_INSTALL_COMMAND, UPDATE_RESTART_COMMAND, UPDATE_TRIGGER, UPDATE_KEEP_DIR, UPDATE_PACKAGE,
            UPDATE_DPKG_STATUS);

    /** The main table: its own keys and a pointer row for each section with a table of its own. */
    public static final List<ConfigKey> MAIN = List.of(DEVICE_ID, DEVICE_LOCATION,
            see("scanner.*", "the scanner: see [Scanner keys](#scanner-keys)"),
            CARDS_TRUSTED_KEYS, CARDS_PROGRAMS,
            OUTBOX_DIR, OUTBOX_MAX_EVENTS, OUTBOX_MAX_BYTES, OUTBOX_MIN_FREE_BYTES, OUTBOX_NEAR_FULL_PERCENT,
            MQTT_URL, MQTT_TOPIC_PREFIX, MQTT_CLIENT_ID, MQTT_USERNAME, MQTT_PASSWORD, MQTT_KEEP_ALIVE, MQTT_CONNECT_TIMEOUT, MQTT_INFLIGHT,
            MQTT_RECONNECT_MIN, MQTT_RECONNECT_MAX, MQTT_TLS_CA, MQTT_TLS_CERT, MQTT_TLS_KEY,
            VOUCHERS_ANSWER_TIMEOUT,
            see("feedback.*", "LEDs and buzzer: see [Feedback keys](#feedback-keys)"),
            PROVISION_CLAIM_TOKEN, PROVISION_USERNAME, PROVISION_PASSWORD, PROVISION_HARDWARE_ID, PROVISION_TIMEOUT,
            FLEET_HEARTBEAT, LOG_LEVEL,
            see("update.*", "remote updates: see [Update keys](#update-keys)"));

    /** Every key of the gateway (no pointer rows). */
    public static List<ConfigKey> all() {
        return Stream.of(MAIN, SCANNER, FEEDBACK, UPDATE).flatMap(List::stream).filter(ConfigKey::isKey)
                .collect(Collectors.toUnmodifiableList());
    }

    public static Optional<ConfigKey> find(String name) {
        return all().stream().filter(k -> k.name().equals(name)).findFirst();
    }

    /** The keys {@code devices config set} may send (the sink's FleetService.REMOTE_KEYS; a test holds them equal). */
    public static List<ConfigKey> settableBySink() {
        return all().stream().filter(k -> k.remote() == Remote.LIVE || k.remote() == Remote.RESTART)
                .collect(Collectors.toUnmodifiableList());
    }

    private static String names(Remote how) {
        return all().stream().filter(k -> k.remote() == how).map(k -> "`" + k.name() + "`")
                .collect(Collectors.joining(", "));
    }

    /** The table of docs/configuration.md's "Keys a sink can set remotely". */
    public static String remoteTable() {
        return "| applies | keys | why |\n| --- | --- | --- |\n"
                + "| live, at the next scan or beat | " + names(Remote.LIVE) + " | checked as at start; a valid value swaps "
                + "in a new immutable scan policy or reschedules the heartbeat |\n"
                + "| at the next start | " + names(Remote.RESTART) + " | tinylog 2 freezes its configuration at the first "
                + "log line; the uplink and the feedback are built once |\n"
                + "| never (dropped by the box) | " + names(Remote.IGNORED) + " | which key a box trusts for updates and "
                + "what root runs are the file's alone ([updates.md](updates.md)) |\n"
                + "| not offered | every other key | `devices config set` refuses it; the box's file decides |\n";
    }

    /** A key of type text whose value is {@code auto} or a whole number in 0..max. */
    private static ConfigKey autoOr(String name, int max, String meaning) {
        return new ConfigKey(name, Type.TEXT, "auto", "0", String.valueOf(max), "`auto`, {range}", meaning, null,
                Remote.NO, null);
    }
}
