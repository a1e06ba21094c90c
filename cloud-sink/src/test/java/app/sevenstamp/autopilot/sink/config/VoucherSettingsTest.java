package app.sevenstamp.autopilot.sink.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;

import app.sevenstamp.autopilot.protocol.support.ConfigException;
import app.sevenstamp.autopilot.protocol.support.Settings;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Properties;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class VoucherSettingsTest {
    @TempDir
    Path dir;

    private static SinkConfig config(String... kv) {
        Properties p = new Properties();
        p.setProperty("program.coffee.stampsRequired", "10");
        p.setProperty("program.coffee.name", "Coffee card");
        for (int i = 0; i < kv.length; i += 2) {
            p.setProperty(kv[i], kv[i + 1]);
        }
        return SinkConfig.from(new Settings(p, "sink.properties"));
    }

    @Test
    void eachProgramHasAVoucherTitleAndValidityWithDefaults() throws Exception {
        Path codes = Files.writeString(dir.resolve("codes.txt"), "A1\n");
        SinkConfig c = config("program.tea.stampsRequired", "5", "program.tea.voucherTitle", "Free tea",
                "program.tea.voucherValidity", "0d", "vouchers.posCodes", codes.toString(), "vouchers.poolLowWarning", "5");
        assertEquals(new VoucherPlan("Reward: Coffee card", Duration.ofDays(90)), c.vouchers().plans().get("coffee"));
        assertEquals(new VoucherPlan("Free tea", Duration.ZERO), c.vouchers().plans().get("tea"));
        assertEquals(codes, c.vouchers().posCodes());
        assertEquals(5, c.vouchers().poolLowWarning());
        assertNull(config().vouchers().posCodes(), "no pool by default");
        assertEquals(20, config().vouchers().poolLowWarning());
    }

    @Test
    void badValuesNameTheKeyTheValueAndWhatIsAllowed() {
        assertEquals("program.coffee.voucherValidity: '2y' is not allowed; allowed: a duration like 500ms, 30s, 5m, 1h or "
                + "7d, from 0s to 3650d", assertThrows(ConfigException.class,
                        () -> config("program.coffee.voucherValidity", "2y")).getMessage());
        assertEquals("program.coffee.voucherValidity: '10m' is not allowed; allowed: 0d (no end), or at least 1h, up to 3650d",
                assertThrows(ConfigException.class, () -> config("program.coffee.voucherValidity", "10m")).getMessage());
        Path missing = dir.resolve("nope.txt");
        assertEquals("vouchers.posCodes: '" + missing + "' is not a readable file; allowed: the path of a text file with "
                + "one till code per line (the codes the shop's till accepts)", assertThrows(ConfigException.class,
                        () -> config("vouchers.posCodes", missing.toString())).getMessage());
        assertThrows(ConfigException.class, () -> config("vouchers.poolLowWarning", "-1"));
        assertThrows(ConfigException.class, () -> config("vouchers.pool", "x"), "an unknown key fails");
    }
}
