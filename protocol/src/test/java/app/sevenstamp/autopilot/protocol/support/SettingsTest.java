package app.sevenstamp.autopilot.protocol.support;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Properties;
import org.junit.jupiter.api.Test;

class SettingsTest {
    enum Mode { STDIN, SERIAL, HID_KEYBOARD }

    private static Settings of(String... kv) {
        Properties p = new Properties();
        for (int i = 0; i < kv.length; i += 2) {
            p.setProperty(kv[i], kv[i + 1]);
        }
        return new Settings(p, "test.properties");
    }

    @Test
    void typedValuesAndDefaults() {
        Settings s = of("a", " 12 ", "d", "1500ms", "m", "hid-keyboard", "l", "x, y,,z", "b", "yes");
        assertEquals(12, s.integer("a", 0, 1, 100));
        assertEquals(7, s.integer("missing", 7, 1, 100));
        assertEquals(Duration.ofMillis(1500), s.duration("d", Duration.ZERO, Duration.ZERO, Duration.ofSeconds(5)));
        assertEquals(Mode.HID_KEYBOARD, s.choice("m", Mode.STDIN, Mode.class));
        assertEquals(List.of("x", "y", "z"), s.list("l"));
        assertEquals(true, s.bool("b", false));
        s.rejectUnknownKeys();
    }

    @Test
    void badValuesNameKeyValueAndWhatIsAllowed() {
        ConfigException e = assertThrows(ConfigException.class, () -> of("scanner.baud", "fast").integer("scanner.baud", 9600, 1200, 921600));
        assertEquals("scanner.baud: 'fast' is not allowed; allowed: a whole number in 1200..921600", e.getMessage());
        e = assertThrows(ConfigException.class, () -> of("scanner.type", "usb").choice("scanner.type", Mode.STDIN, Mode.class));
        assertEquals("scanner.type: 'usb' is not allowed; allowed: one of stdin, serial, hid-keyboard", e.getMessage());
        e = assertThrows(ConfigException.class, () -> of("w", "90s").duration("w", Duration.ZERO, Duration.ZERO, Duration.ofMinutes(1)));
        assertEquals("w: '90s' is not allowed; allowed: a duration like 500ms, 30s, 5m, 1h or 7d, from 0s to 1m", e.getMessage());
    }

    @Test
    void aTypoIsCaughtInsteadOfIgnored() {
        Settings s = of("scaner.port", "/dev/ttyACM0");
        s.string("scanner.port", null);
        ConfigException e = assertThrows(ConfigException.class, s::rejectUnknownKeys);
        assertEquals("test.properties: unknown key scaner.port; known keys are scanner.port", e.getMessage());
    }

    @Test
    void missingFileIsNamed() {
        ConfigException e = assertThrows(ConfigException.class, () -> Settings.load(Path.of("/nonexistent/gw.properties")));
        assertEquals("config file /nonexistent/gw.properties does not exist", e.getMessage());
    }
}
