package app.sevenstamp.autopilot.sink.config;

import static app.sevenstamp.autopilot.protocol.support.ConfigKey.bool;
import static app.sevenstamp.autopilot.protocol.support.ConfigKey.choice;
import static app.sevenstamp.autopilot.protocol.support.ConfigKey.duration;
import static app.sevenstamp.autopilot.protocol.support.ConfigKey.integer;
import static app.sevenstamp.autopilot.protocol.support.ConfigKey.see;
import static app.sevenstamp.autopilot.protocol.support.ConfigKey.text;

import app.sevenstamp.autopilot.protocol.Topics;
import app.sevenstamp.autopilot.protocol.support.ConfigKey;
import app.sevenstamp.autopilot.sink.config.AppleWalletSettings.Barcode;
import app.sevenstamp.autopilot.sink.loyalty.Program;
import app.sevenstamp.autopilot.sink.loyalty.RewardPlan;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;

/**
 * Every key of the sink's configuration, once: name, default, what is allowed and what it means. The parsers
 * ({@link SinkConfig} and the {@code *Settings} of this package) read their defaults and ranges from these
 * constants, and docs/configuration.md's sink table is generated from {@link #ALL} (SinkKeysDocsTest). Keys of one
 * program are named {@code program.<id>.NAME} here and read with {@link #program(ConfigKey, String)}; the Apple
 * and Google Wallet keys are described in docs/wallet.md and only pointed to.
 */
final class SinkKeys {
    private SinkKeys() {
    }

    /** The placeholder of a program's id in a key's name. */
    public static final String PROGRAM = "program.<id>.";

    private static final String NAME_RULE = "1..64 of letters, digits, `_ . -`";
    private static final String TOKEN_RULE = "24..200 printable characters";

    public static final ConfigKey STORE_DIR = text("store.dir", "./data/sink",
            "a directory (created if missing); holds the H2 database `sink.mv.db`", "the sink's database");
    public static final ConfigKey KEYS_FILE = text("keys.file", null,
            "the card signing key; created with mode 600 on first use",
            "Ed25519 seed that signs card codes; back it up, keep it secret").defaultDoc("`<store.dir>/signing.key`");
    public static final ConfigKey KEYS_ID = text("keys.id", "k1", "1..8 letters or digits; the key id printed in card codes",
            "name of the signing key inside card codes (for key rotation)");
    public static final ConfigKey BROKER_MODE = choice("broker.mode", BrokerMode.EMBEDDED,
            "run a broker inside the sink, or use one that runs elsewhere")
            .allowed("`embedded` (Moquette in the sink) or `external`");
    public static final ConfigKey BROKER_HOST = text("broker.host", "127.0.0.1",
            "embedded only: the address to listen on (a host name or IP address); other than loopback only with "
                    + "`fleet.provisioning=true`", "where the embedded broker listens");
    public static final ConfigKey BROKER_PORT = integer("broker.port", 1883, 0, 65535, "the embedded broker's port")
            .allowed("embedded only: {range}; 0 picks a free port");
    public static final ConfigKey BROKER_URL = text("broker.url", "tcp://127.0.0.1:1883",
            "external only: `tcp://HOST:PORT`, `ssl://HOST:PORT`, `ws://...` or `wss://...`", "the external broker");
    public static final ConfigKey MQTT_TOPIC_PREFIX = text("mqtt.topicPrefix", Topics.DEFAULT_PREFIX,
            "non-empty, no leading or trailing `/`, no `+` or `#`", "must match the gateways'");
    public static final ConfigKey MQTT_CLIENT_ID = text("mqtt.clientId", "autopilot-sink",
            NAME_RULE + "; keep it stable: the broker keeps this client's session", "MQTT client id of the sink");
    public static final ConfigKey MQTT_USERNAME = text("mqtt.username", null, "any text", "broker credentials");
    public static final ConfigKey MQTT_PASSWORD = text("mqtt.password", null,
            "any text; only with `mqtt.username`; never logged", "broker credentials");
    public static final ConfigKey MQTT_TLS_CA = text("mqtt.tls.ca", null,
            "external only: a PEM file; needs an `ssl://` broker.url", "the CA that signed the broker's certificate")
            .defaultDoc("(none: the JVM's CA store)");
    public static final ConfigKey MQTT_TLS_CERT = text("mqtt.tls.cert", null,
            "external only: a PEM certificate (chain); with mqtt.tls.key", "client certificate");
    public static final ConfigKey MQTT_TLS_KEY = text("mqtt.tls.key", null,
            "PEM PKCS#8, RSA or EC; must match mqtt.tls.cert", "the client certificate's key");

    private static final String HTTP_DOC = "[docs/http.md](http.md)";
    public static final ConfigKey HTTP_HOST = text("http.host", "127.0.0.1", "the address the HTTP API listens on",
            "where the HTTP API listens");
    public static final ConfigKey HTTP_PORT = integer("http.port", 8080, 0, 65535, "the HTTP API's port")
            .allowed("{range}; 0 picks a free port");
    public static final ConfigKey HTTP_THREADS = integer("http.threads", 16, 4, 200,
            "threads that run requests (the connections themselves are watched by one selector, whatever their "
                    + "number); see " + HTTP_DOC);
    public static final ConfigKey HTTP_IDLE_TIMEOUT = duration("http.idleTimeout", "20s", "1s", "10m",
            "a connection that sends nothing this long is closed; 2 s while the server is at "
                    + "`http.maxConnections`; see " + HTTP_DOC);
    public static final ConfigKey HTTP_HEADER_TIMEOUT = duration("http.headerTimeout", "10s", "1s", "5m",
            "a new connection must have sent a whole request head by then, or it is closed (a client "
                    + "dripping one header line at a time); see " + HTTP_DOC);
    public static final ConfigKey HTTP_MAX_CONNECTIONS = integer("http.maxConnections", 2000, 10, 100_000,
            "open connections in all; see " + HTTP_DOC);
    public static final ConfigKey HTTP_MAX_CONNECTIONS_PER_CLIENT = integer("http.maxConnectionsPerClient", 64, 0,
            100_000, "open connections per client address; 0 turns the limit off (behind a reverse proxy every client "
                    + "has the proxy's address); see " + HTTP_DOC);
    public static final ConfigKey HTTP_MAX_HEADER_BYTES = integer("http.maxHeaderBytes", 8192, 1024, 65536,
            "bytes of the request line and headers; see " + HTTP_DOC);

    private static final String CONSOLE_DOC = "[docs/console.md](console.md)";
    public static final ConfigKey CONSOLE_SESSION_IDLE = duration("console.sessionIdle", "12h", "5m", "7d",
            "a console session without a request this long ends; see " + CONSOLE_DOC);
    public static final ConfigKey CONSOLE_SESSION_LONGEST = duration("console.sessionLongest", "7d", "1h", "90d",
            "a console session ends this long after sign-in in any case; see " + CONSOLE_DOC);
    public static final ConfigKey CONSOLE_SECURE_COOKIE = bool("console.secureCookie", true,
            "the session cookie is sent over HTTPS only (browsers also send it to `http://localhost`); "
                    + "`false` only for a console reached over plain HTTP on a trusted network; see " + CONSOLE_DOC);
    public static final ConfigKey METRICS_TOKEN = text("metrics.token", null, TOKEN_RULE,
            "the bearer token Prometheus sends to `GET /metrics`; see [docs/metrics.md](metrics.md)")
            .defaultDoc("(none: `/metrics` public)");

    public static final ConfigKey PROGRAM_STAMPS_REQUIRED = integer(PROGRAM + "stampsRequired", 0, 1, Program.MAX_STAMPS,
            "stamps that earn one reward; then a new round starts")
            .allowed("{range}; `<id>` is 1..24 of `a-z 0-9 -`, starting with a letter or digit")
            .defaultDoc("(required per program)");
    public static final ConfigKey PROGRAM_NAME = text(PROGRAM + "name", null, "1..80 printable characters",
            "shown on the card page").defaultDoc("the id");

    public static final ConfigKey FLEET_PROVISIONING = bool("fleet.provisioning", false,
            "answer provisioning claims: with `broker.mode=external` through Mosquitto's dynamic-security plugin "
                    + "(`mqtt.username` must be its admin), with the embedded broker through its own authenticator "
                    + "(anonymous clients are then refused)");
    public static final ConfigKey FLEET_PROVISION_USERNAME = text("fleet.provisionUsername", "provision", NAME_RULE,
            "the shared provisioning account the sink creates; boxes use it only to ask");
    public static final ConfigKey FLEET_PROVISION_PASSWORD = text("fleet.provisionPassword", "provision", "any text",
            "its password (not a secret: it can only ask, and the answer is sealed)");
    public static final ConfigKey ADMIN_TOKEN_FILE = text("admin.tokenFile", null,
            "a file; created with mode 600 on first start",
            "the bearer token of the fleet HTTP API and the `devices`/`claims` commands")
            .defaultDoc("`<store.dir>/admin.token`");

    public static final ConfigKey PROGRAM_COOLDOWN = duration(PROGRAM + "cooldown", "0s", "0s", "1d",
            "minimum time between two stamps on one card; closer ones are rejected `TOO_SOON`")
            .defaultDoc("`0s` (off)").allowed("`0s`..`1d` (`30s`, `20m`, `2h`)");
    public static final ConfigKey PROGRAM_DAILY_CAP = integer(PROGRAM + "dailyCap", 0, 0, 100,
            "stamps per card per day; more are rejected `DAILY_CAP`").defaultDoc("`0` (off)");
    public static final ConfigKey PROGRAM_TIME_ZONE = text(PROGRAM + "timeZone", "UTC",
            "a zone id such as `Europe/Berlin`", "where the shop's day begins, for `dailyCap`");
    public static final ConfigKey PROGRAM_MIN_TRAVEL = duration(PROGRAM + "minTravel", "0s", "0s", "1d",
            "the same card at two locations closer in time than this is flagged `IMPOSSIBLE_TRAVEL` (counted, not "
                    + "refused)").defaultDoc("`0s` (off)").allowed("`0s`..`1d`");
    public static final ConfigKey PROGRAM_MILESTONES = text(PROGRAM + "milestones", null,
            "increasing numbers below `stampsRequired`, comma-separated",
            "each earns a reward on the way, e.g. `5` on a card of 10");
    public static final ConfigKey PROGRAM_FULL_CARD = choice(PROGRAM + "fullCard", RewardPlan.FullCard.NEW_ROUND,
            "at the goal: start at zero, or keep stamps beyond the goal (from an adjustment) for the next round")
            .allowed("`new-round` or `carry-over`");
    public static final ConfigKey PROGRAM_STAMP_EXPIRY = duration(PROGRAM + "stampExpiry", "0d", "0d", "3650d",
            "a round's stamps lapse after this long without a stamp").defaultDoc("`0d` (never)")
            .allowed("`0d`..`3650d`");

    public static final ConfigKey STORE_URL = text("store.url", null, "`jdbc:postgresql://HOST[:PORT]/DATABASE[?...]`",
            "keep the cards in PostgreSQL instead (needed for several sink instances)")
            .defaultDoc("(none: the H2 file in `store.dir`)");
    public static final ConfigKey STORE_USER = text("store.user", null, "PostgreSQL only", "database user");
    public static final ConfigKey STORE_PASSWORD = text("store.password", null, "PostgreSQL only; never logged",
            "database password");
    public static final ConfigKey STORE_POOL_SIZE = integer("store.poolSize", 8, 2, 64,
            "connections in the pool (HikariCP)");
    public static final ConfigKey DEVICES_ALLOWED = text("devices.allowed", null, "comma-separated device ids",
            "events of other devices are parked as dead letters (kind `device`) and not answered, so the gateway keeps "
                    + "them; the seam for the fleet registry").defaultDoc("(empty: every device)");
    public static final ConfigKey POS_API_KEY = text("pos.<location>.apiKey", null,
            TOKEN_RULE + ", no spaces; `<location>` 1..32 of `a-z 0-9 -`",
            "API key of the tills of one location for `POST /api/v1/stamps`; the key decides the stamp's location")
            .defaultDoc("(none: no POS route)");
    public static final ConfigKey WEBHOOK_URL = text("webhook.url", null, "`http://...` or `https://...`",
            "receives `stamp.added`, `reward.issued`, `reward.redeemed` (and the `voucher.*` events, see "
                    + "[vouchers.md](vouchers.md)) as JSON POSTs").defaultDoc("(none: no webhooks)");
    public static final ConfigKey WEBHOOK_SECRET = text("webhook.secret", null, TOKEN_RULE + "; never logged",
            "HMAC-SHA256 key of the `X-7stamp-Signature` header").defaultDoc("(required with `webhook.url`)");
    public static final ConfigKey PROGRAM_VOUCHER_TITLE = text(PROGRAM + "voucherTitle", null,
            "1..80 characters without control characters",
            "what the voucher for this program's reward says (\"Free coffee\")").defaultDoc("`Reward: <program name>`");
    public static final ConfigKey PROGRAM_VOUCHER_VALIDITY = duration(PROGRAM + "voucherValidity", "90d", "0d", "3650d",
            "how long a reward voucher stays valid after it was earned").allowed("`0d` (no end), or `1h`..`3650d`");
    public static final ConfigKey VOUCHERS_POS_CODES = text("vouchers.posCodes", null,
            "a readable text file, one code per line (1..64 printable characters, `#` comments)",
            "the redeem-code pool: codes the shop's till accepts, imported at start and again within 30 s when the "
                    + "file changes (no restart); each voucher takes one").defaultDoc("(none: vouchers carry no till code)");
    public static final ConfigKey VOUCHERS_POOL_LOW_WARNING = integer("vouchers.poolLowWarning", 20, 0, 1_000_000,
            "at or below this many unused till codes the sink logs one warning; the next one only after the file "
                    + "refilled the pool above it");
    public static final ConfigKey ADMIN_TOKEN = text("admin.token", null, TOKEN_RULE + ", no spaces",
            "bearer token of `/api/v1/admin/...` and the operator commands (`cards adjust`, `cards undo`)")
            .defaultDoc("(none: admin routes answer 404)");
    public static final ConfigKey MQTT_SHARE_GROUP = text("mqtt.shareGroup", null,
            NAME_RULE + "; needs `broker.mode=external` and `store.url`",
            "subscribe as `$share/GROUP/7stamp/v1/gw/+/stamps`: the broker spreads the events over all sinks of the "
                    + "group; give each instance its own `mqtt.clientId`");

    private static final String WALLET = "see [wallet.md](wallet.md#settings-joinsettings)";
    public static final ConfigKey WEB_PUBLIC_URL = text("web.publicUrl", null,
            "`https://HOST[:PORT][/PATH]` (or `http://` for a test); no query, fragment or user info",
            "the address of this sink as customers' phones reach it: the join page and its poster; " + WALLET)
            .defaultDoc("(none: no poster)");
    public static final ConfigKey JOIN_PER_ADDRESS = new ConfigKey("join.perAddress", ConfigKey.Type.TEXT, "5/1m", "0",
            "100000", "`N/DURATION`, N in {range}, DURATION 1s..1d", "cards one client address (an IPv6 /64) may be issued "
            + "per period; N 0 turns it off (behind a reverse proxy every customer has the proxy's address); " + WALLET, null, ConfigKey.Remote.NO, null);
    public static final ConfigKey JOIN_PER_PROGRAM = new ConfigKey("join.perProgram", ConfigKey.Type.TEXT, "300/1h", "1",
            "1000000", "`N/DURATION`, N in {range}, DURATION 1s..1d", "cards per program per period, whoever asks; "
            + WALLET, null, ConfigKey.Remote.NO, null);
    public static final ConfigKey PROGRAM_JOIN_ASKS = text(PROGRAM + "joinAsks", null,
            "`none`, `name`, `email` or `name,email`", "optional fields of the join form; nothing else is ever asked or stored; " + WALLET)
            .defaultDoc("`none`");
    public static final ConfigKey PROGRAM_JOIN_CONSENT = text(PROGRAM + "joinConsent", null,
            "1..300 characters without control characters", "the consent text shown beside the fields (only with joinAsks); " + WALLET)
            .defaultDoc("a sentence naming the program and what it keeps");
    private static final String APPLE = "see [wallet.md](wallet.md#apple-wallet)";
    public static final ConfigKey PROGRAM_PASS_BARCODE = choice(PROGRAM + "passBarcode", Barcode.QR,
            "the barcode on the program's Apple Wallet pass; " + APPLE);
    public static final ConfigKey PROGRAM_PASS_COLOR = text(PROGRAM + "passColor", "#3C2415", "`#RRGGBB`",
            "the pass's background; " + APPLE);
    public static final ConfigKey PROGRAM_PASS_TEXT_COLOR = text(PROGRAM + "passTextColor", "#FFFFFF", "`#RRGGBB`",
            "the pass's text; " + APPLE);

    /** The sink's keys in the order of its docs table, with pointer rows for the wallets' own tables. */
    public static final List<ConfigKey> ALL = List.of(STORE_DIR, KEYS_FILE, KEYS_ID, BROKER_MODE, BROKER_HOST,
            BROKER_PORT, BROKER_URL, MQTT_TOPIC_PREFIX, MQTT_CLIENT_ID, MQTT_USERNAME, MQTT_PASSWORD, MQTT_TLS_CA,
            MQTT_TLS_CERT, MQTT_TLS_KEY, HTTP_HOST, HTTP_PORT, HTTP_THREADS, HTTP_IDLE_TIMEOUT, HTTP_HEADER_TIMEOUT,
            HTTP_MAX_CONNECTIONS, HTTP_MAX_CONNECTIONS_PER_CLIENT, HTTP_MAX_HEADER_BYTES, CONSOLE_SESSION_IDLE,
            CONSOLE_SESSION_LONGEST, CONSOLE_SECURE_COOKIE, METRICS_TOKEN, PROGRAM_STAMPS_REQUIRED, PROGRAM_NAME,
            FLEET_PROVISIONING, FLEET_PROVISION_USERNAME, FLEET_PROVISION_PASSWORD, ADMIN_TOKEN_FILE, PROGRAM_COOLDOWN,
            PROGRAM_DAILY_CAP, PROGRAM_TIME_ZONE, PROGRAM_MIN_TRAVEL, PROGRAM_MILESTONES, PROGRAM_FULL_CARD,
            PROGRAM_STAMP_EXPIRY, STORE_URL, STORE_USER, STORE_PASSWORD, STORE_POOL_SIZE, DEVICES_ALLOWED, POS_API_KEY,
            WEBHOOK_URL, WEBHOOK_SECRET, PROGRAM_VOUCHER_TITLE, PROGRAM_VOUCHER_VALIDITY, VOUCHERS_POS_CODES,
            VOUCHERS_POOL_LOW_WARNING, ADMIN_TOKEN, MQTT_SHARE_GROUP, WEB_PUBLIC_URL, JOIN_PER_ADDRESS, JOIN_PER_PROGRAM,
            PROGRAM_JOIN_ASKS, PROGRAM_JOIN_CONSENT, PROGRAM_PASS_BARCODE, PROGRAM_PASS_COLOR, PROGRAM_PASS_TEXT_COLOR,
            see("wallet.apple.*", "Apple Wallet passes and their push updates: see [wallet.md](wallet.md#apple-wallet)")
                    .defaultDoc("(none: Apple Wallet off)"),
            see("google.*", "Google Wallet classes, objects and save links: see [wallet.md](wallet.md#google-wallet)")
                    .defaultDoc("(none: Google Wallet off)"));

    /** A program's key with the program's prefix ({@code program.coffee.}) in place of {@code program.<id>.}. */
    public static ConfigKey program(ConfigKey key, String prefix) {
        if (!key.name().startsWith(PROGRAM)) {
            throw new IllegalArgumentException(key.name() + " is not a program's key");
        }
        return key.named(prefix + key.name().substring(PROGRAM.length()));
    }

    /** The settings a program has: {@code stampsRequired}, {@code name}, ... */
    static Set<String> programSettings() {
        Set<String> names = new TreeSet<>();
        for (ConfigKey k : ALL) {
            if (k.name().startsWith(PROGRAM)) {
                names.add(k.name().substring(PROGRAM.length()));
            }
        }
        return names;
    }
}
