package app.sevenstamp.autopilot.sink.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import app.sevenstamp.autopilot.protocol.support.ConfigException;
import app.sevenstamp.autopilot.protocol.support.Settings;
import app.sevenstamp.autopilot.sink.loyalty.Program;
import app.sevenstamp.autopilot.sink.loyalty.RewardPlan;
import app.sevenstamp.autopilot.sink.loyalty.StampRules;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Properties;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SinkConfigTest {
    @TempDir
    Path dir;

    private static Settings settings(String... kv) {
        Properties p = new Properties();
        for (int i = 0; i < kv.length; i += 2) {
            p.setProperty(kv[i], kv[i + 1]);
        }
        return new Settings(p, "sink.properties");
    }

    /** A minimal valid config plus the given pairs. */
    private static SinkConfig config(String... kv) {
        String[] all = new String[kv.length + 2];
        all[0] = "program.coffee.stampsRequired";
        all[1] = "10";
        System.arraycopy(kv, 0, all, 2, kv.length);
        return SinkConfig.from(settings(all));
    }

    private static String error(String... kv) {
        return assertThrows(ConfigException.class, () -> config(kv)).getMessage();
    }

    @Test
    void anAnonymousEmbeddedBrokerListensOnlyOnLoopback() {
        String refused = "broker.host: '0.0.0.0' lets anyone on that network connect to the embedded broker without a "
                + "password while fleet.provisioning is false; set fleet.provisioning=true (boxes then get their own "
                + "credentials with a claim, docs/provisioning.md) or broker.host=127.0.0.1";
        assertEquals(refused, error("broker.host", "0.0.0.0"));
        assertThrows(ConfigException.class, () -> config("broker.host", "192.168.1.10"));
        assertThrows(ConfigException.class, () -> config("broker.host", "sink.shop.lan"));
        assertThrows(ConfigException.class, () -> config("broker.host", "::"));
        for (String loopback : new String[] {"127.0.0.1", "127.0.1.1", "localhost", "::1", "[::1]"}) {
            assertEquals(loopback, config("broker.host", loopback).brokerHost());
        }
        // with provisioning every client needs its own credentials; with an external broker the host is unused
        assertEquals("0.0.0.0", config("broker.host", "0.0.0.0", "fleet.provisioning", "true").brokerHost());
        assertEquals("0.0.0.0", config("broker.host", "0.0.0.0", "broker.mode", "external").brokerHost());
    }

    @Test
    void defaultsNeedOnlyOneProgram() {
        SinkConfig c = config();
        assertEquals(Path.of("./data/sink"), c.storeDir());
        assertEquals(Path.of("./data/sink/signing.key"), c.keysFile());
        assertEquals("k1", c.keyId());
        assertEquals(BrokerMode.EMBEDDED, c.brokerMode());
        assertEquals("127.0.0.1", c.brokerHost());
        assertEquals(1883, c.brokerPort());
        assertEquals("tcp://127.0.0.1:1883", c.brokerUrl());
        assertEquals("7stamp/v1", c.topicPrefix());
        assertEquals("autopilot-sink", c.clientId());
        assertNull(c.username());
        assertNull(c.password());
        assertEquals("127.0.0.1", c.httpHost());
        assertEquals(8080, c.httpPort());
        assertEquals(List.of(new Program("coffee", "coffee", 10, StampRules.NONE, RewardPlan.SIMPLE)), List.copyOf(c.programs().values()));
    }

    @Test
    void everyKeyIsRead() {
        SinkConfig c = config("store.dir", "/var/lib/sink", "keys.file", "/etc/sink/key", "keys.id", "k2",
                "broker.mode", "external", "broker.url", "ssl://mqtt.example.com:8883", "broker.host", "0.0.0.0",
                "broker.port", "0", "mqtt.topicPrefix", "acme/7stamp/v1", "mqtt.clientId", "sink-a",
                "mqtt.username", "sink", "mqtt.password", "s3cret", "http.host", "0.0.0.0", "http.port", "0",
                "program.coffee.name", "Coffee card", "program.bakery-7.stampsRequired", "5");
        assertEquals(Path.of("/var/lib/sink"), c.storeDir());
        assertEquals(Path.of("/etc/sink/key"), c.keysFile());
        assertEquals(BrokerMode.EXTERNAL, c.brokerMode());
        assertEquals("ssl://mqtt.example.com:8883", c.brokerUrl());
        assertEquals("acme/7stamp/v1/gw/+/stamps", c.topics().allStamps());
        assertEquals(0, c.httpPort());
        assertEquals(List.of("bakery-7", "coffee"), List.copyOf(c.programs().keySet()));
        assertEquals("Coffee card", c.programs().get("coffee").name());
        assertEquals(5, c.programs().get("bakery-7").stampsRequired());
        assertEquals(Path.of("/var/lib/sink/sink"), c.databaseFile());
    }

    @Test
    void thePasswordNeverAppearsInToString() {
        SinkConfig c = config("mqtt.username", "sink", "mqtt.password", "s3cret");
        assertFalse(c.toString().contains("s3cret"), c.toString());
        assertTrue(c.toString().contains("password=****"), c.toString());
    }

    @Test
    void badValuesNameKeyValueAndWhatIsAllowed() {
        assertEquals("broker.mode: 'cloud' is not allowed; allowed: one of embedded, external",
                error("broker.mode", "cloud"));
        assertEquals("broker.port: '1883x' is not allowed; allowed: a whole number in 0..65535",
                error("broker.port", "1883x"));
        assertEquals("http.port: '70000' is not allowed; allowed: a whole number in 0..65535",
                error("http.port", "70000"));
        assertEquals("broker.url: 'mqtt://broker:1883' is not allowed; allowed: tcp://HOST:PORT, ssl://HOST:PORT, "
                + "ws://HOST:PORT/PATH or wss://HOST:PORT/PATH", error("broker.url", "mqtt://broker:1883"));
        assertEquals("broker.host: 'my host' is not allowed; allowed: a host name or IP address",
                error("broker.host", "my host"));
        assertEquals("keys.id: 'key-1' is not allowed; allowed: 1 to 8 letters or digits", error("keys.id", "key-1"));
        assertEquals("mqtt.topicPrefix: '7stamp/#' is not allowed; allowed: non-empty, without leading or trailing "
                + "'/' and without '+' or '#'", error("mqtt.topicPrefix", "7stamp/#"));
        assertEquals("mqtt.clientId: 'sink one' is not allowed; allowed: 1 to 64 letters, digits, '_', '.' or '-'",
                error("mqtt.clientId", "sink one"));
        assertEquals("mqtt.password: set without mqtt.username; MQTT sends a password only together with a user name, "
                + "so set mqtt.username as well or remove mqtt.password", error("mqtt.password", "s3cret"));
    }

    @Test
    void programsAreValidated() {
        assertEquals("program.coffee.stampsRequired: '0' is not allowed; allowed: a whole number in 1..100",
                error("program.coffee.stampsRequired", "0"));
        assertEquals("program.tea.stampsRequired: missing; every program needs stampsRequired, a whole number in 1..100",
                error("program.tea.name", "Tea"));
        assertEquals("program.Tea.stampsRequired: program id 'Tea' is not allowed; allowed: 1 to 24 of a-z, 0-9 and '-', "
                + "starting with a letter or digit ([a-z0-9][a-z0-9-]{0,23})", error("program.Tea.stampsRequired", "5"));
        assertEquals("program.coffee.stampsRequried: unknown program setting 'stampsRequried'; a program has "
                + "cooldown, dailyCap, fullCard, joinAsks, joinConsent, milestones, minTravel, name, passBarcode, passColor, passTextColor, stampExpiry, stampsRequired, timeZone, "
                + "voucherTitle, voucherValidity",
                error("program.coffee.stampsRequried", "5"));
        assertEquals("program.coffee: not a program setting; write program.<id>.stampsRequired and optionally "
                + "program.<id>.name", error("program.coffee", "5"));
    }

    @Test
    void atLeastOneProgramIsRequiredExceptForKeyCommands() {
        ConfigException e = assertThrows(ConfigException.class, () -> SinkConfig.from(settings("http.port", "0")));
        assertEquals("sink.properties: no program configured; add at least one line program.<id>.stampsRequired=<1..100>, "
                + "for example program.coffee.stampsRequired=10", e.getMessage());
        assertTrue(SinkConfig.from(settings("http.port", "0"), false).programs().isEmpty());
    }

    @Test
    void aTypoIsAnErrorNotADefault() {
        ConfigException e = assertThrows(ConfigException.class, () -> config("http.prot", "9090"));
        assertTrue(e.getMessage().startsWith("sink.properties: unknown key http.prot; known keys are "), e.getMessage());
        assertTrue(e.getMessage().contains("http.port"), e.getMessage());
    }

    @Test
    void loadReadsAFileAndNamesAMissingOne() throws Exception {
        Path file = dir.resolve("sink.properties");
        Files.writeString(file, "program.coffee.stampsRequired = 8\nprogram.coffee.name = Coffee \\u2615\n",
                StandardCharsets.UTF_8);
        SinkConfig c = SinkConfig.load(file);
        assertEquals(new Program("coffee", "Coffee \u2615", 8, StampRules.NONE, RewardPlan.SIMPLE), c.programs().get("coffee"));

        ConfigException e = assertThrows(ConfigException.class, () -> SinkConfig.load(dir.resolve("nope.properties")));
        assertEquals("config file " + dir.resolve("nope.properties") + " does not exist", e.getMessage());
    }

    @Test
    void metricsTokenIsOptionalBoundedAndNeverPrinted() {
        assertNull(config().metrics().token(), "without it /metrics is public");
        String token = "prometheus-scrape-token-0123456789";
        SinkConfig c = config("metrics.token", token);
        assertEquals(token, c.metrics().token());
        assertFalse(c.toString().contains(token), c.toString());
        assertTrue(error("metrics.token", "short").startsWith("metrics.token: 'short'"), error("metrics.token", "short"));
        assertTrue(error("metrics.token", "has a space in it 0123456789abcdef").contains("24 to 200 printable characters"));
        assertTrue(error("metrics.tokn", token).contains("metrics.tokn"), "a typo is an unknown key");
    }
}
