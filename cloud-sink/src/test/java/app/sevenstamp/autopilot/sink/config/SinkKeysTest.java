package app.sevenstamp.autopilot.sink.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import app.sevenstamp.autopilot.protocol.support.ConfigException;
import app.sevenstamp.autopilot.protocol.support.ConfigKey;
import app.sevenstamp.autopilot.protocol.support.Settings;
import java.util.Arrays;
import java.util.Properties;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

/** The registry and the parser agree: the same keys, and every default is a value the parser accepts. */
class SinkKeysTest {
    private static final Pattern KNOWN = Pattern.compile("known keys are (.*)$");
    private static final String POS_KEY = "pos.shop.apiKey";

    private static Properties minimal() {
        Properties p = new Properties();
        p.setProperty("program.coffee.stampsRequired", "10");
        p.setProperty(POS_KEY, "a-till-key-of-24-characters-or-more");
        return p;
    }

    /** A key as the registry names it: a program's or a location's keys with their placeholder. */
    private static String pattern(String key) {
        String k = key.replaceFirst("^program\\.coffee\\.", SinkKeys.PROGRAM)
                .replaceFirst("^pos\\.shop\\.", "pos.<location>.");
        for (ConfigKey see : SinkKeys.ALL) {
            if (!see.isKey() && k.startsWith(see.name().substring(0, see.name().length() - 1))) {
                return see.name();
            }
        }
        return k;
    }

    @Test
    void everyKeyTheParserReadsIsInTheRegistryAndNoOther() {
        Properties p = minimal();
        p.setProperty("zz.typo", "1");
        ConfigException e = assertThrows(ConfigException.class, () -> SinkConfig.from(new Settings(p, "test")));
        Matcher m = KNOWN.matcher(e.getMessage());
        assertTrue(m.find(), e.getMessage());
        Set<String> parser = Arrays.stream(m.group(1).split(", ")).map(SinkKeysTest::pattern)
                .collect(Collectors.toCollection(TreeSet::new));
        Set<String> registry = SinkKeys.ALL.stream().map(ConfigKey::name).collect(Collectors.toCollection(TreeSet::new));
        assertEquals(registry, parser);
    }

    @Test
    void everyDefaultWrittenOutIsAcceptedAndChangesNothing() {
        String defaults = SinkConfig.from(new Settings(minimal(), "test")).toString();
        for (ConfigKey k : SinkKeys.ALL) {
            if (!k.isKey() || k.defaultValue() == null || k.name().endsWith(".stampsRequired")) {
                continue; // no default to write (stampsRequired is required)
            }
            Properties p = minimal();
            p.setProperty(k.name().replace(SinkKeys.PROGRAM, "program.coffee."), k.defaultValue());
            assertEquals(defaults, SinkConfig.from(new Settings(p, "test")).toString(), k.name());
        }
    }

    @Test
    void aProgramHasTheSettingsTheRegistryNames() {
        String message = assertThrows(ConfigException.class, () -> {
            Properties p = minimal();
            p.setProperty("program.coffee.colour", "red");
            SinkConfig.from(new Settings(p, "test"));
        }).getMessage();
        assertEquals("program.coffee.colour: unknown program setting 'colour'; a program has cooldown, dailyCap, "
                + "fullCard, joinAsks, joinConsent, milestones, minTravel, name, passBarcode, passColor, passTextColor, "
                + "stampExpiry, stampsRequired, timeZone, voucherTitle, voucherValidity", message);
    }
}
