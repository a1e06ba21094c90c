package app.sevenstamp.autopilot.sink.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import app.sevenstamp.autopilot.protocol.support.ConfigException;
import app.sevenstamp.autopilot.protocol.support.Settings;
import app.sevenstamp.autopilot.sink.loyalty.Program;
import app.sevenstamp.autopilot.sink.loyalty.RewardPlan;
import app.sevenstamp.autopilot.sink.loyalty.StampRules;
import java.time.Duration;
import java.time.ZoneId;
import java.util.List;
import java.util.Properties;
import org.junit.jupiter.api.Test;

class ProgramSettingsTest {
    private static SinkConfig config(String... kv) {
        Properties p = new Properties();
        p.setProperty("program.coffee.stampsRequired", "10");
        for (int i = 0; i < kv.length; i += 2) {
            p.setProperty(kv[i], kv[i + 1]);
        }
        return SinkConfig.from(new Settings(p, "sink.properties"));
    }

    @Test
    void rulesAndPlanArePerProgramWithEverythingOffByDefault() {
        SinkConfig c = config("program.coffee.cooldown", "20m", "program.coffee.dailyCap", "3", "program.coffee.minTravel",
                "1h", "program.coffee.timeZone", "Europe/Berlin", "program.coffee.milestones", "5,8",
                "program.coffee.fullCard", "carry-over", "program.coffee.stampExpiry", "90d",
                "program.tea.stampsRequired", "6");
        Program coffee = c.programs().get("coffee");
        assertEquals(new StampRules(Duration.ofMinutes(20), 3, Duration.ofHours(1), ZoneId.of("Europe/Berlin")), coffee.rules());
        assertEquals(new RewardPlan(List.of(5, 8), RewardPlan.FullCard.CARRY_OVER, Duration.ofDays(90)), coffee.plan());
        Program tea = c.programs().get("tea");
        assertEquals(StampRules.NONE, tea.rules());
        assertEquals(RewardPlan.SIMPLE, tea.plan());
    }

    @Test
    void badValuesNameTheKeyAndWhatIsAllowed() {
        assertEquals("program.coffee.milestones: '5,12' is not allowed; allowed: increasing whole numbers from 1 to 9 "
                + "(below stampsRequired), separated by commas",
                assertThrows(ConfigException.class, () -> config("program.coffee.milestones", "5,12")).getMessage());
        assertEquals("program.coffee.timeZone: 'Mars/Olympus' is not allowed; allowed: a time zone id like Europe/Berlin or UTC",
                assertThrows(ConfigException.class, () -> config("program.coffee.timeZone", "Mars/Olympus")).getMessage());
        assertEquals("program.coffee.fullCard: 'hold' is not allowed; allowed: one of new-round, carry-over",
                assertThrows(ConfigException.class, () -> config("program.coffee.fullCard", "hold")).getMessage());
    }
}
