package app.sevenstamp.autopilot.sink.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import app.sevenstamp.autopilot.protocol.support.ConfigException;
import app.sevenstamp.autopilot.protocol.support.Settings;
import java.util.Properties;
import org.junit.jupiter.api.Test;

class StoreSettingsTest {
    private static SinkConfig config(String... kv) {
        Properties p = new Properties();
        p.setProperty("program.coffee.stampsRequired", "10");
        for (int i = 0; i < kv.length; i += 2) {
            p.setProperty(kv[i], kv[i + 1]);
        }
        return SinkConfig.from(new Settings(p, "sink.properties"));
    }

    private static String error(String... kv) {
        return assertThrows(ConfigException.class, () -> config(kv)).getMessage();
    }

    @Test
    void withoutStoreUrlTheSinkKeepsItsH2FileAndSubscribesAlone() {
        StoreSettings s = config().store();
        assertFalse(s.postgres());
        assertEquals(8, s.poolSize());
        assertEquals("7stamp/v1/gw/+/stamps", s.subscription("7stamp/v1/gw/+/stamps"));
    }

    @Test
    void aShareGroupSubscribesThroughShareWithPostgresAndAnExternalBroker() {
        SinkConfig c = config("store.url", "jdbc:postgresql://db.example.net:5432/sink", "store.user", "sink",
                "store.password", "s3cret", "broker.mode", "external", "mqtt.shareGroup", "sinks");
        assertTrue(c.store().postgres());
        assertEquals("$share/sinks/7stamp/v1/gw/+/stamps", c.store().subscription(c.topics().allStamps()));
        assertFalse(c.toString().contains("s3cret"), c.toString());
    }

    @Test
    void aShareGroupOnTheEmbeddedBrokerIsRefusedWithTheReason() {
        assertEquals("mqtt.shareGroup: 'sinks' needs broker.mode=external; the embedded broker (Moquette) has no "
                + "shared subscriptions, so run Mosquitto 2, EMQX or HiveMQ and set broker.url",
                error("store.url", "jdbc:postgresql://db/sink", "mqtt.shareGroup", "sinks"));
    }

    @Test
    void aShareGroupOnTheH2FileIsRefusedWithTheReason() {
        assertEquals("mqtt.shareGroup: 'sinks' needs store.url; sinks that share the events must share one PostgreSQL "
                + "database, an H2 file belongs to one process", error("broker.mode", "external", "mqtt.shareGroup", "sinks"));
    }

    @Test
    void badStoreValuesNameKeyAndAllowedValues() {
        assertTrue(error("store.url", "jdbc:mysql://db/sink").startsWith("store.url: 'jdbc:mysql://db/sink'"));
        assertTrue(error("store.poolSize", "1").startsWith("store.poolSize"));
        assertTrue(error("store.url", "jdbc:postgresql://db/sink?ssl=true&reWriteBatchedInserts=true")
                .startsWith("store.url: reWriteBatchedInserts=true is not allowed"));
        assertEquals("store.user: set without store.url; the H2 file needs no user, so set "
                + "store.url=jdbc:postgresql://... or remove it", error("store.user", "sink"));
    }

    @Test
    void aWebhookUrlNeedsASecretAndTheSecretIsNeverPrinted() {
        assertEquals("webhook.secret: missing; webhook.url is set, and every webhook is signed with HMAC-SHA256 under "
                + "webhook.secret (24 to 200 printable characters)", error("webhook.url", "https://crm.example.net/hook"));
        SinkConfig c = config("webhook.url", "https://crm.example.net/hook", "webhook.secret", "0123456789abcdef0123456789");
        assertTrue(c.webhook().enabled());
        assertFalse(c.toString().contains("0123456789abcdef0123456789"), c.toString());
    }
}
