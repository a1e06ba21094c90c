package app.sevenstamp.autopilot.gateway.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import app.sevenstamp.autopilot.gateway.fleet.FleetSettings;
import app.sevenstamp.autopilot.gateway.testing.GatewayProps;
import app.sevenstamp.autopilot.protocol.support.ConfigException;
import app.sevenstamp.autopilot.protocol.support.ConfigKey;
import app.sevenstamp.autopilot.protocol.support.ConfigKey.Remote;
import app.sevenstamp.autopilot.protocol.support.Settings;
import app.sevenstamp.autopilot.protocol.testing.Vectors;
import app.sevenstamp.autopilot.sink.fleet.FleetService;
import java.io.IOException;
import java.io.Reader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Properties;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The registry and the parsers agree: the same keys, and every default is a value the parser accepts. */
class GatewayKeysTest {
    /** The .deb's conffile, as installed to /etc/7stamp-autopilot/gateway.properties. */
    static final Path SHIPPED = Path.of("src", "deb", "etc", "gateway.properties");
    private static final Pattern KNOWN = Pattern.compile("known keys are (.*)$");

    @TempDir
    Path dir;

    private GatewayConfig parse(Properties p) {
        return GatewayConfig.from(new Settings(p, "test"), "counter-1", dir.resolve("by-id"), dir.resolve("input-by-id"));
    }

    private static Properties minimal() {
        return GatewayProps.minimal().properties();
    }

    /** The keys a parser knows, as its unknown-key message lists them. */
    private static Set<String> known(ConfigException e) {
        Matcher m = KNOWN.matcher(e.getMessage());
        assertTrue(m.find(), e.getMessage());
        return new TreeSet<>(Arrays.asList(m.group(1).split(", ")));
    }

    private static Set<String> registry(String... prefixes) {
        return GatewayKeys.all().stream().map(ConfigKey::name)
                .filter(n -> Arrays.stream(prefixes).anyMatch(n::startsWith))
                .collect(Collectors.toCollection(TreeSet::new));
    }

    @Test
    void everyKeyTheParsersReadIsInTheRegistryAndNoOther() {
        Properties core = minimal();
        core.setProperty("zz.typo", "1");
        Set<String> coreKeys = known(assertThrows(ConfigException.class, () -> parse(core)));
        Set<String> fleetKeys = known(assertThrows(ConfigException.class,
                () -> FleetSettings.take(props("provision.zz", "1"), "test")));
        Set<String> updateKeys = known(assertThrows(ConfigException.class,
                () -> UpdateSettings.take(props("update.zz", "1"), "test")));

        Set<String> fleet = registry("provision.", "fleet.", "log.");
        Set<String> update = registry("update.");
        Set<String> rest = new TreeSet<>(registry(""));
        rest.removeAll(fleet);
        rest.removeAll(update);
        assertEquals(rest, coreKeys, "GatewayConfig's keys");
        assertEquals(fleet, fleetKeys, "FleetSettings' keys");
        assertEquals(update, updateKeys, "UpdateSettings' keys");
    }

    @Test
    void everyDefaultWrittenOutIsAcceptedAndChangesNothing() {
        GatewayConfig defaults = parse(minimal());
        FleetSettings fleetDefaults = FleetSettings.take(new Properties(), "test");
        for (ConfigKey k : GatewayKeys.all()) {
            if (k.defaultValue() == null || k.defaultValue().isEmpty()) {
                continue; // nothing to write: the key is off or required
            }
            Properties p = minimal();
            p.setProperty(k.name(), k.defaultValue());
            if (k.name().startsWith("update.")) {
                assertEquals(UpdateSettings.OFF, UpdateSettings.take(p, "test"), k.name());
            } else if (k.name().startsWith("provision.") || k.name().startsWith("fleet.") || k.name().startsWith("log.")) {
                assertEquals(fleetDefaults, FleetSettings.take(p, "test"), k.name());
            } else {
                GatewayConfig c = parse(p);
                assertEquals(defaults.location(), c.location(), k.name());
                assertEquals(defaults.scanner().toString(), c.scanner().toString(), k.name());
                assertEquals(defaults.mqtt().toString(), c.mqtt().toString(), k.name());
                assertEquals(defaults.feedback(), c.feedback(), k.name());
                assertEquals(defaults.outboxDir(), c.outboxDir(), k.name());
                assertEquals(defaults.outboxLimits(), c.outboxLimits(), k.name());
                assertEquals(defaults.vouchers(), c.vouchers(), k.name());
            }
        }
    }

    @Test
    void aRangedKeysBoundsAreAcceptedAndItsMessageNamesThem() {
        Properties p = minimal();
        p.setProperty("scanner.baud", "921601");
        assertEquals("scanner.baud: '921601' is not allowed; allowed: a whole number in 1200..921600",
                assertThrows(ConfigException.class, () -> parse(p)).getMessage());
        p.setProperty("scanner.baud", GatewayKeys.SCANNER_BAUD.max());
        assertEquals(921_600, parse(p).scanner().baud());
        p.setProperty("outbox.maxBytes", GatewayKeys.OUTBOX_MAX_BYTES.min());
        assertEquals(1L << 20, parse(p).outboxLimits().maxBytes());
    }

    @Test
    void theKeysTheSinkMaySetAreTheOnesItOffersAndTheUpdateKeysAreDropped() {
        // the sink's allow-list of `devices config set`, and the gateway's registry, name the same keys
        assertEquals(new TreeSet<>(FleetService.REMOTE_KEYS), GatewayKeys.settableBySink().stream().map(ConfigKey::name)
                .collect(Collectors.toCollection(TreeSet::new)));
        assertEquals(List.of("cards.trustedKeys", "cards.programs", "fleet.heartbeat"), GatewayKeys.all().stream()
                .filter(k -> k.remote() == Remote.LIVE).map(ConfigKey::name).collect(Collectors.toList()));
        for (ConfigKey k : GatewayKeys.all()) {
            // FleetBoot drops every update.* key of a desired configuration
            assertEquals(k.name().startsWith("update."), k.remote() == Remote.IGNORED, k.name());
        }
    }

    @Test
    void theShippedConfigFileNamesOnlyRegistryKeysAndItsSettingsStart() throws IOException {
        Set<String> names = GatewayKeys.all().stream().map(ConfigKey::name).collect(Collectors.toSet());
        Pattern line = Pattern.compile("#?([a-z][A-Za-z.]*)=(.*)");
        int keys = 0;
        for (String l : Files.readAllLines(SHIPPED, StandardCharsets.UTF_8)) {
            Matcher m = line.matcher(l.strip());
            if (m.matches()) {
                keys++;
                assertTrue(names.contains(m.group(1)), SHIPPED + ": '" + m.group(1) + "' is no key of GatewayKeys");
            }
        }
        assertTrue(keys >= 10, "the shipped file's keys, commented out or set: " + keys);

        Properties shipped = new Properties();
        try (Reader r = Files.newBufferedReader(SHIPPED, StandardCharsets.UTF_8)) {
            shipped.load(r);
        }
        shipped.setProperty("cards.trustedKeys", Vectors.trustedKey()); // what install-gateway.sh adds
        FleetSettings.take(shipped, SHIPPED.toString());
        UpdateSettings.take(shipped, SHIPPED.toString());
        GatewayConfig c = parse(shipped);
        assertEquals(Path.of("/var/lib/7stamp-autopilot/outbox"), c.outboxDir());
    }

    private static Properties props(String key, String value) {
        Properties p = new Properties();
        p.setProperty(key, value);
        return p;
    }
}
