package app.sevenstamp.autopilot.sink.config;

import app.sevenstamp.autopilot.protocol.Topics;
import app.sevenstamp.autopilot.protocol.card.CardCode;
import app.sevenstamp.autopilot.protocol.support.ConfigException;
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
 * <table>
 * <caption>Keys</caption>
 * <tr><th>key</th><th>default</th><th>allowed</th></tr>
 * <tr><td>{@code store.dir}</td><td>{@code ./data/sink}</td><td>a directory (created if missing); holds the H2 database {@code sink.mv.db}</td></tr>
 * <tr><td>{@code keys.file}</td><td>{@code <store.dir>/signing.key}</td><td>the card signing key; created with mode 600 on first use</td></tr>
 * <tr><td>{@code keys.id}</td><td>{@code k1}</td><td>1..8 letters or digits; the key id printed in card codes</td></tr>
 * <tr><td>{@code broker.mode}</td><td>{@code embedded}</td><td>{@code embedded} (Moquette in the sink) or {@code external}</td></tr>
 * <tr><td>{@code broker.host}</td><td>{@code 127.0.0.1}</td><td>embedded only: the address to listen on (a host name or IP address)</td></tr>
 * <tr><td>{@code broker.port}</td><td>{@code 1883}</td><td>embedded only: 0..65535; 0 picks a free port</td></tr>
 * <tr><td>{@code broker.url}</td><td>{@code tcp://127.0.0.1:1883}</td><td>external only: {@code tcp://HOST:PORT}, {@code ssl://HOST:PORT}, {@code ws://...} or {@code wss://...}</td></tr>
 * <tr><td>{@code mqtt.topicPrefix}</td><td>{@code 7stamp/v1}</td><td>non-empty, no leading or trailing {@code /}, no {@code +} or {@code #}</td></tr>
 * <tr><td>{@code mqtt.clientId}</td><td>{@code autopilot-sink}</td><td>1..64 of letters, digits, {@code _ . -}; keep it stable: the broker keeps this client's session</td></tr>
 * <tr><td>{@code mqtt.username}</td><td>(none)</td><td>any text</td></tr>
 * <tr><td>{@code mqtt.password}</td><td>(none)</td><td>any text; only with {@code mqtt.username}; never logged</td></tr>
 * <tr><td>{@code mqtt.tls.ca}</td><td>(none: the JVM's CA store)</td><td>external only: PEM file of the CA that signed the broker's certificate; needs an {@code ssl://} broker.url</td></tr>
 * <tr><td>{@code mqtt.tls.cert}</td><td>(none)</td><td>external only: PEM client certificate (chain), with {@code mqtt.tls.key}</td></tr>
 * <tr><td>{@code mqtt.tls.key}</td><td>(none)</td><td>its private key, PEM PKCS#8 ({@code BEGIN PRIVATE KEY}), RSA or EC</td></tr>
 * <tr><td>{@code fleet.provisioning}</td><td>{@code false}</td><td>{@code true}, {@code false}: answer provisioning claims and create per-device broker credentials</td></tr>
 * <tr><td>{@code fleet.provisionUsername}</td><td>{@code provision}</td><td>1..64 of letters, digits, {@code _ . -}: the shared low-privilege account boxes provision with</td></tr>
 * <tr><td>{@code fleet.provisionPassword}</td><td>{@code provision}</td><td>any text; not a secret (it only lets a box ask)</td></tr>
 * <tr><td>{@code admin.tokenFile}</td><td>{@code <store.dir>/admin.token}</td><td>the bearer token of the fleet HTTP API; created with mode 600 on first use</td></tr>
 * <tr><td>{@code program.<id>.stampsRequired}</td><td>(required per program)</td><td>1..100; {@code <id>} is 1..24 of {@code a-z 0-9 -}, starting with a letter or digit</td></tr>
 * <tr><td>{@code program.<id>.name}</td><td>the id</td><td>1..80 printable characters</td></tr>
 * </table>
 * The rules and reward plan of a program ({@code program.<id>.cooldown}, {@code dailyCap}, {@code minTravel},
 * {@code timeZone}, {@code milestones}, {@code fullCard}, {@code stampExpiry}) are described in {@link ProgramSettings}.
 * The HTTP server's keys ({@code http.host}, {@code http.port} and its limits) are described in {@link HttpSettings},
 * the console's ({@code console.*}) in {@link ConsoleSettings}, {@code metrics.token} in {@link MetricsSettings}.
 * The database and scale-out keys ({@code store.url}, {@code store.user}, {@code store.password},
 * {@code store.poolSize}, {@code mqtt.shareGroup}) are described in {@link StoreSettings}; {@code devices.allowed}
 * and {@code admin.token} in {@link AccessSettings}; {@code webhook.url}, {@code webhook.secret} in {@link WebhookSettings};
 * {@code program.<id>.voucherTitle}, {@code program.<id>.voucherValidity}, {@code vouchers.posCodes} and
 * {@code vouchers.poolLowWarning} in {@link VoucherSettings}; the {@code google.*} keys in {@link GoogleWalletSettings}; {@code web.publicUrl}, {@code join.perAddress},
 * {@code join.perProgram}, {@code program.<id>.joinAsks} and {@code program.<id>.joinConsent} in {@link JoinSettings}; {@code wallet.apple.*} and
 * {@code program.<id>.passBarcode}, {@code passColor}, {@code passTextColor} in {@link AppleWalletSettings}.
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
    private static final Set<String> PROGRAM_SETTINGS = Set.of("stampsRequired", "name", "cooldown", "dailyCap",
            "minTravel", "timeZone", "milestones", "fullCard", "stampExpiry", "voucherTitle", "voucherValidity",
            "joinAsks", "joinConsent", "passBarcode", "passColor", "passTextColor");

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

    /**
     * Validates settings. Rejects unknown keys.
     *
     * @param requirePrograms false only for commands that never look at programs ({@code keys show})
     */
    public static SinkConfig from(Settings s, boolean requirePrograms) {
        Path storeDir = path(s, "store.dir", "./data/sink");
        String keysFileText = s.string("keys.file", null);
        Path keysFile = keysFileText == null ? storeDir.resolve("signing.key") : path(s, "keys.file", keysFileText);
        String keyId = s.matching("keys.id", "k1", CardCode.KEY_ID, "1 to 8 letters or digits");

        BrokerMode mode = s.choice("broker.mode", BrokerMode.EMBEDDED, BrokerMode.class);
        String brokerHost = s.matching("broker.host", "127.0.0.1", HOST, "a host name or IP address");
        int brokerPort = s.integer("broker.port", 1883, 0, 65535);
        String brokerUrl = s.matching("broker.url", "tcp://127.0.0.1:1883", BROKER_URL,
                "tcp://HOST:PORT, ssl://HOST:PORT, ws://HOST:PORT/PATH or wss://HOST:PORT/PATH");

        String topicPrefix = s.string("mqtt.topicPrefix", Topics.DEFAULT_PREFIX);
        try {
            new Topics(topicPrefix);
        } catch (IllegalArgumentException e) {
            throw Settings.bad("mqtt.topicPrefix", topicPrefix,
                    "non-empty, without leading or trailing '/' and without '+' or '#'");
        }
        String clientId = s.matching("mqtt.clientId", "autopilot-sink", CLIENT_ID,
                "1 to 64 letters, digits, '_', '.' or '-'");
        String username = s.string("mqtt.username", null);
        String password = s.string("mqtt.password", null);
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

        boolean fleetProvisioning = s.bool("fleet.provisioning", false);
        String provisionUsername = s.matching("fleet.provisionUsername", "provision", CLIENT_ID,
                "1 to 64 letters, digits, '_', '.' or '-'");
        String provisionPassword = s.string("fleet.provisionPassword", "provision");
        String tokenText = s.string("admin.tokenFile", null);
        Path adminTokenFile = tokenText == null ? storeDir.resolve("admin.token") : path(s, "admin.tokenFile", tokenText);

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
            if (!PROGRAM_SETTINGS.contains(setting)) {
                throw new ConfigException(key + ": unknown program setting '" + setting
                        + "'; a program has " + String.join(", ", new TreeSet<>(PROGRAM_SETTINGS)));
            }
            ids.add(id);
        }
        Map<String, Program> programs = new TreeMap<>();
        for (String id : ids) {
            String stampsKey = PROGRAM_PREFIX + id + ".stampsRequired";
            s.required(stampsKey, "every program needs stampsRequired, a whole number in 1.." + Program.MAX_STAMPS);
            int stamps = s.integer(stampsKey, 0, 1, Program.MAX_STAMPS);
            String name = s.matching(PROGRAM_PREFIX + id + ".name", id, PROGRAM_NAME,
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
