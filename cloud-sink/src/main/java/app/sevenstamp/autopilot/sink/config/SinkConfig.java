package app.sevenstamp.autopilot.sink.config;

import app.sevenstamp.autopilot.protocol.Topics;
import app.sevenstamp.autopilot.protocol.card.CardCode;
import app.sevenstamp.autopilot.protocol.support.ConfigException;
import app.sevenstamp.autopilot.protocol.support.ConfigKey;
import app.sevenstamp.autopilot.protocol.support.MqttTls;
import app.sevenstamp.autopilot.protocol.support.Settings;
import app.sevenstamp.autopilot.sink.loyalty.Program;
import java.nio.file.InvalidPathException;
import java.nio.file.Path;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.regex.Pattern;

/**
 * The sink's configuration: an immutable record, read from a properties file and validated once
 * at start. Every bad value fails with a {@link ConfigException} naming the key, the value and what
 * is allowed; unknown keys fail too, so a typo never silently falls back to a default.
 *
 * <p>Its keys, their defaults and what they allow: {@link SinkKeys} (and docs/configuration.md).
 * Each area reads its keys beside this record: {@link ProgramSettings}, {@link HttpSettings}, {@link ConsoleSettings},
 * {@link MetricsSettings}, {@link StoreSettings}, {@link AccessSettings}, {@link WebhookSettings},
 * {@link VoucherSettings}, {@link JoinSettings}; the wallets' own keys ({@code wallet.apple.*}, {@code google.*}) are
 * described in {@link AppleWalletSettings} and {@link GoogleWalletSettings} (and docs/wallet.md).
 *
 * <p>At least one program is required, except for commands that only handle the signing key
 * ({@link #from(Settings, boolean)} with {@code false}).
 */
public record SinkConfig(
        Path storeDir,
        Path keysFile,
        String keyId,
        BrokerMode brokerMode,
        String brokerHost,
        int brokerPort,
        String brokerUrl,
        String topicPrefix,
        String clientId,
        String username,
        String password,
        HttpSettings http,
        Map<String, Program> programs,
        MqttTls tls,
        boolean fleetProvisioning,
        String provisionUsername,
        String provisionPassword,
        Path adminTokenFile,

        StoreSettings store,
        AccessSettings access,
        WebhookSettings webhook,
        VoucherSettings vouchers,
        ConsoleSettings console,
        GoogleWalletSettings google,
        JoinSettings join,
        AppleWalletSettings appleWallet,
        MetricsSettings metrics) {

    static final Pattern HOST = Pattern.compile("[A-Za-z0-9]([A-Za-z0-9.-]{0,252})|\\[?[0-9A-Fa-f:.]{2,45}]?");
    static final Pattern BROKER_URL = Pattern.compile(
            "(tcp|ssl|ws|wss)://([A-Za-z0-9][A-Za-z0-9.-]*|\\[[0-9A-Fa-f:.]+])(:\\d{1,5})?(/\\S*)?");
    static final Pattern CLIENT_ID = Pattern.compile("[A-Za-z0-9_.-]{1,64}");
    static final Pattern PROGRAM_NAME = Pattern.compile("[^\\p{Cntrl}]{1,80}");
    private static final String PROGRAM_PREFIX = "program.";

    public SinkConfig {
        Objects.requireNonNull(storeDir, "storeDir");
        Objects.requireNonNull(keysFile, "keysFile");
        Objects.requireNonNull(keyId, "keyId");
        Objects.requireNonNull(brokerMode, "brokerMode");
        Objects.requireNonNull(brokerHost, "brokerHost");
        Objects.requireNonNull(brokerUrl, "brokerUrl");
        Objects.requireNonNull(topicPrefix, "topicPrefix");
        Objects.requireNonNull(clientId, "clientId");
        Objects.requireNonNull(http, "http");
        Objects.requireNonNull(store, "store");
        Objects.requireNonNull(access, "access");
        Objects.requireNonNull(webhook, "webhook");
        Objects.requireNonNull(vouchers, "vouchers");
        Objects.requireNonNull(console, "console");
        Objects.requireNonNull(google, "google");
        Objects.requireNonNull(join, "join");
        Objects.requireNonNull(appleWallet, "appleWallet");
        Objects.requireNonNull(metrics, "metrics");
        programs = Collections.unmodifiableMap(new LinkedHashMap<>(new TreeMap<>(programs)));
        Objects.requireNonNull(tls, "tls");
    }

    /** Reads and validates a properties file; at least one program is required. */
    public static SinkConfig load(Path file) {
        return from(Settings.load(file));
    }

    /** Validates settings; at least one program is required. Rejects unknown keys. */
    public static SinkConfig from(Settings s) {
        return from(s, true);
    }

    /** {@code localhost} or a loopback address literal; a name is not looked up (it could resolve anywhere). */
    static boolean loopback(String host) {
        String h = host.startsWith("[") && host.endsWith("]") ? host.substring(1, host.length() - 1) : host;
        if (h.equalsIgnoreCase("localhost")) {
            return true;
        }
        if (!h.matches("[0-9.]+") && !h.contains(":")) {
            return false;
        }
        try {
            return java.net.InetAddress.getByName(h).isLoopbackAddress(); // a literal: parsed, not resolved
        } catch (java.net.UnknownHostException e) {
            return false;
        }
    }

    /**
     * Validates settings. Rejects unknown keys.
     *
     * @param requirePrograms false only for commands that never look at programs ({@code keys show})
     */
    public static SinkConfig from(Settings s, boolean requirePrograms) {
        Path storeDir = path(s, SinkKeys.STORE_DIR.name(), SinkKeys.STORE_DIR.defaultValue());
        String keysFileText = s.string(SinkKeys.KEYS_FILE);
        Path keysFile = keysFileText == null ? storeDir.resolve("signing.key") : path(s, SinkKeys.KEYS_FILE.name(), keysFileText);
        String keyId = s.matching(SinkKeys.KEYS_ID, CardCode.KEY_ID, "1 to 8 letters or digits");

        BrokerMode mode = s.choice(SinkKeys.BROKER_MODE, BrokerMode.class);
        String brokerHost = s.matching(SinkKeys.BROKER_HOST, HOST, "a host name or IP address");
        int brokerPort = s.integer(SinkKeys.BROKER_PORT);
        String brokerUrl = s.matching(SinkKeys.BROKER_URL, BROKER_URL,
                "tcp://HOST:PORT, ssl://HOST:PORT, ws://HOST:PORT/PATH or wss://HOST:PORT/PATH");

        String topicPrefix = s.string(SinkKeys.MQTT_TOPIC_PREFIX);
        try {
            new Topics(topicPrefix);
        } catch (IllegalArgumentException e) {
            throw Settings.bad("mqtt.topicPrefix", topicPrefix,
                    "non-empty, without leading or trailing '/' and without '+' or '#'");
        }
        String clientId = s.matching(SinkKeys.MQTT_CLIENT_ID, CLIENT_ID,
                "1 to 64 letters, digits, '_', '.' or '-'");
        String username = s.string(SinkKeys.MQTT_USERNAME);
        String password = s.string(SinkKeys.MQTT_PASSWORD);
        if (password != null && username == null) {
            throw new ConfigException("mqtt.password: set without mqtt.username; MQTT sends a password only "
                    + "together with a user name, so set mqtt.username as well or remove mqtt.password");
        }

        MqttTls tls = MqttTls.from(s, "mqtt.tls.", "broker.url", brokerUrl);
        if (tls.configured() && mode == BrokerMode.EMBEDDED) {
            throw new ConfigException("mqtt.tls.*: set, but broker.mode is embedded, which listens without TLS; "
                    + "set broker.mode=external and broker.url=ssl://HOST:8883, or remove the mqtt.tls keys");
        }

        HttpSettings http = HttpSettings.from(s);

        boolean fleetProvisioning = s.bool(SinkKeys.FLEET_PROVISIONING);
        if (mode == BrokerMode.EMBEDDED && !fleetProvisioning && !loopback(brokerHost)) {
            // without provisioning the embedded broker takes anonymous clients: reachable from the shop's
            // network, anyone there could publish stamps in any box's name and read every answer
            throw new ConfigException("broker.host: '" + brokerHost + "' lets anyone on that network connect to the "
                    + "embedded broker without a password while fleet.provisioning is false; set fleet.provisioning=true "
                    + "(boxes then get their own credentials with a claim, docs/provisioning.md) or broker.host=127.0.0.1");
        }
        String provisionUsername = s.matching(SinkKeys.FLEET_PROVISION_USERNAME, CLIENT_ID,
                "1 to 64 letters, digits, '_', '.' or '-'");
        String provisionPassword = s.string(SinkKeys.FLEET_PROVISION_PASSWORD);
        String tokenText = s.string(SinkKeys.ADMIN_TOKEN_FILE);
        Path adminTokenFile = tokenText == null ? storeDir.resolve("admin.token") : path(s, SinkKeys.ADMIN_TOKEN_FILE.name(), tokenText);

        Map<String, Program> programs = programs(s);
        if (requirePrograms && programs.isEmpty()) {
            throw new ConfigException(s.source() + ": no program configured; add at least one line "
                    + "program.<id>.stampsRequired=<1.." + Program.MAX_STAMPS + ">, for example program.coffee.stampsRequired=10");
        }
        StoreSettings store = StoreSettings.from(s, mode);
        AccessSettings access = AccessSettings.from(s);
        WebhookSettings webhook = WebhookSettings.from(s);
        VoucherSettings vouchers = VoucherSettings.from(s, programs);
        ConsoleSettings console = ConsoleSettings.from(s);
        GoogleWalletSettings google = GoogleWalletSettings.from(s);
        JoinSettings join = JoinSettings.from(s, programs);
        AppleWalletSettings appleWallet = AppleWalletSettings.from(s, programs);
        MetricsSettings metrics = MetricsSettings.from(s);
        s.rejectUnknownKeys();
        return new SinkConfig(storeDir, keysFile, keyId, mode, brokerHost, brokerPort, brokerUrl, topicPrefix,
                clientId, username, password, http, programs, tls, fleetProvisioning, provisionUsername,
                provisionPassword, adminTokenFile, store, access, webhook, vouchers, console, google, join, appleWallet,
                metrics);
    }

    public String httpHost() {
        return http.host();
    }

    public int httpPort() {
        return http.port();
    }

    public Topics topics() {
        return new Topics(topicPrefix);
    }

    public Optional<Program> program(String id) {
        return Optional.ofNullable(programs.get(id));
    }

    /** The H2 database file without its extension, as H2 wants it in the JDBC URL. */
    public Path databaseFile() {
        return storeDir.toAbsolutePath().normalize().resolve("sink");
    }

    /** Never prints the MQTT password. */
    @Override
    public String toString() {
        return "SinkConfig[storeDir=" + storeDir + ", keysFile=" + keysFile + ", keyId=" + keyId
                + ", brokerMode=" + Settings.name(brokerMode) + ", brokerHost=" + brokerHost + ", brokerPort=" + brokerPort
                + ", brokerUrl=" + brokerUrl + ", topicPrefix=" + topicPrefix + ", clientId=" + clientId
                + ", username=" + username + ", password=" + (password == null ? null : "****")
                + ", http=" + http + ", programs=" + programs.values()
                + ", tls=" + tls.describe() + ", store=" + store + ", access=" + access + ", webhook=" + webhook + ", vouchers=" + vouchers + ", google=" + google + ", join=" + join
                + ", appleWallet=" + appleWallet + ", metrics=" + metrics + "]";
    }

    private static Map<String, Program> programs(Settings s) {
        Set<String> ids = new TreeSet<>();
        for (String key : s.keysUnder(PROGRAM_PREFIX)) {
            String rest = key.substring(PROGRAM_PREFIX.length());
            int dot = rest.indexOf('.');
            if (dot <= 0) {
                throw new ConfigException(key + ": not a program setting; write program.<id>.stampsRequired "
                        + "and optionally program.<id>.name");
            }
            String id = rest.substring(0, dot);
            String setting = rest.substring(dot + 1);
            if (!CardCode.PROGRAM_ID.matcher(id).matches()) {
                throw new ConfigException(key + ": program id '" + id + "' is not allowed; allowed: 1 to 24 of "
                        + "a-z, 0-9 and '-', starting with a letter or digit (" + CardCode.PROGRAM_ID.pattern() + ")");
            }
            if (!SinkKeys.programSettings().contains(setting)) {
                throw new ConfigException(key + ": unknown program setting '" + setting
                        + "'; a program has " + String.join(", ", SinkKeys.programSettings()));
            }
            ids.add(id);
        }
        Map<String, Program> programs = new TreeMap<>();
        for (String id : ids) {
            String prefix = PROGRAM_PREFIX + id + ".";
            ConfigKey stampsKey = SinkKeys.program(SinkKeys.PROGRAM_STAMPS_REQUIRED, prefix);
            s.required(stampsKey.name(), "every program needs stampsRequired, a whole number in 1.." + Program.MAX_STAMPS);
            int stamps = s.integer(stampsKey);
            String name = s.matching(SinkKeys.program(SinkKeys.PROGRAM_NAME, prefix).name(), id, PROGRAM_NAME,
                    "1 to 80 characters without control characters");
            programs.put(id, new Program(id, name, stamps, ProgramSettings.rules(s, PROGRAM_PREFIX + id + "."),
                    ProgramSettings.plan(s, PROGRAM_PREFIX + id + ".", stamps)));
        }
        return programs;
    }

    private static Path path(Settings s, String key, String defaultValue) {
        String value = s.string(key, defaultValue);
        try {
            return Path.of(value);
        } catch (InvalidPathException e) {
            throw Settings.bad(key, value, "a file system path");
        }
    }
}
