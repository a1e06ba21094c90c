package app.sevenstamp.autopilot.protocol.support;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import org.junit.jupiter.api.Test;

class ConfigKeyTest {
    private enum Mode { FAST, SLOW_AND_STEADY }

    private static final ConfigKey BAUD = ConfigKey.integer("scanner.baud", 9600, 1200, 921_600, "serial speed");
    private static final ConfigKey WAIT = ConfigKey.duration("x.wait", "3s", "500ms", "30s", "how long")
            .allowed("{range}, or less");
    private static final ConfigKey MODE = ConfigKey.choice("x.mode", Mode.FAST, "how");

    private static Settings settings(String... kv) {
        Properties p = new Properties();
        for (int i = 0; i < kv.length; i += 2) {
            p.setProperty(kv[i], kv[i + 1]);
        }
        return new Settings(p, "test");
    }

    @Test
    void aKeyReadsWithItsDefaultAndRangeAndTheMessagesStayTheSame() {
        assertEquals(9600, settings().integer(BAUD));
        assertEquals(Duration.ofSeconds(3), settings().duration(WAIT));
        assertEquals(Mode.SLOW_AND_STEADY, settings("x.mode", "slow-and-steady").choice(MODE, Mode.class));
        assertEquals("scanner.baud: 'fast' is not allowed; allowed: a whole number in 1200..921600",
                assertThrows(ConfigException.class, () -> settings("scanner.baud", "fast").integer(BAUD)).getMessage());
        assertEquals("x.wait: '31s' is not allowed; allowed: a duration like 500ms, 30s, 5m, 1h or 7d, from 500ms to 30s",
                assertThrows(ConfigException.class, () -> settings("x.wait", "31s").duration(WAIT)).getMessage());
    }

    @Test
    void theDocsRowShowsTheDefaultRangeAndValues() {
        assertEquals("| key | default | allowed | meaning |\n| --- | --- | --- | --- |\n"
                + "| `scanner.baud` | 9600 | 1200..921600 | serial speed |\n"
                + "| `x.wait` | 3s | 500ms..30s, or less | how long |\n"
                + "| `x.mode` | `fast` | `fast`, `slow-and-steady` | how |\n",
                ConfigDocs.table(List.of(BAUD, WAIT, MODE)));
    }

    @Test
    void regenerateReplacesOnlyTheMarkedBlockAndNamesAMissingOne() {
        String doc = "intro\n<!-- generated: t -->\nold\n<!-- end: t -->\noutro\n";
        String out = ConfigDocs.regenerate(doc, Map.of("t", "new\n"));
        assertEquals("intro\n<!-- generated: t -->\nnew\n<!-- end: t -->\noutro\n", out);
        assertEquals("line 3 is\n  old\nbut the registry makes it\n  new", ConfigDocs.firstDifference(doc, out));
        assertNull(ConfigDocs.firstDifference(out, out));
        assertThrows(IllegalArgumentException.class, () -> ConfigDocs.regenerate(doc, Map.of("other", "x")));
    }

    @Test
    void aRangedKeyNeedsItsBounds() {
        assertThrows(IllegalArgumentException.class, () -> new ConfigKey("k", ConfigKey.Type.INTEGER, "1", null, "2",
                "{range}", "m", null, ConfigKey.Remote.NO, null));
        assertThrows(IllegalArgumentException.class, () -> ConfigKey.duration("k", "soon", "1s", "2s", "m"));
    }
}
