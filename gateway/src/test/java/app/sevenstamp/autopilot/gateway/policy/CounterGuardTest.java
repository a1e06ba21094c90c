package app.sevenstamp.autopilot.gateway.policy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import app.sevenstamp.autopilot.protocol.CounterRules;
import app.sevenstamp.autopilot.protocol.RejectReason;
import java.time.Duration;
import java.time.Instant;
import java.util.Map;
import org.junit.jupiter.api.Test;

class CounterGuardTest {
    private static final Instant T = Instant.parse("2026-03-28T22:30:00Z"); // 23:30 in Berlin, before the DST switch

    private static CounterRules rules(long version, Map<String, CounterRules.Limits> programs) {
        return new CounterRules(1, version, programs);
    }

    @Test
    void validationNamesTheProgramAndTheField() {
        IllegalArgumentException zone = assertThrows(IllegalArgumentException.class, () -> CounterGuard.validate(
                rules(1, Map.of("coffee", new CounterRules.Limits(60, 0, "Mars/Olympus")))));
        assertEquals("program coffee: timeZone 'Mars/Olympus' is not a zone id like Europe/Berlin or UTC", zone.getMessage());
        IllegalArgumentException id = assertThrows(IllegalArgumentException.class, () -> CounterGuard.validate(
                rules(1, Map.of("Coffee!", new CounterRules.Limits(60, 0, "UTC")))));
        assertTrue(id.getMessage().startsWith("program id 'Coffee!' must match"), id.getMessage());
        IllegalArgumentException cooldown = assertThrows(IllegalArgumentException.class, () -> CounterGuard.validate(
                rules(1, Map.of("coffee", new CounterRules.Limits(8 * 86400, 0, "UTC")))));
        assertTrue(cooldown.getMessage().contains("cooldownSeconds 691200"), cooldown.getMessage());
        assertThrows(IllegalArgumentException.class, () -> CounterGuard.validate(rules(0, Map.of())));
    }

    @Test
    void horizonIsTheLongestCooldownOrADayAndAHalfHourMargin() {
        CounterGuard g = new CounterGuard();
        assertEquals(CounterGuard.DAY_HORIZON, g.horizon());
        g.rules(rules(1, Map.of("coffee", new CounterRules.Limits(3 * 86400, 0, "UTC"))));
        assertEquals(Duration.ofDays(3), g.horizon());
    }

    @Test
    void dailyCapFollowsTheZonesDayAcrossTheSpringDstSwitch() {
        CounterGuard g = new CounterGuard();
        g.rules(rules(1, Map.of("coffee", new CounterRules.Limits(0, 1, "Europe/Berlin"))));
        g.record("coffee", "CARD0000", T);
        assertEquals(RejectReason.DAILY_CAP,
                g.check("coffee", "CARD0000", T.plus(Duration.ofMinutes(20)), "'x'").orElseThrow().reason());
        // 00:10 in Berlin on the 29th (23:10 UTC on the 28th): a new day there
        assertTrue(g.check("coffee", "CARD0000", T.plus(Duration.ofMinutes(40)), "'x'").isEmpty());
        assertTrue(g.check("tea", "CARD0000", T, "'x'").isEmpty(), "a program without rules is free");
    }

    @Test
    void newRulesApplyToTheNextCheck() {
        CounterGuard g = new CounterGuard();
        g.record("coffee", "CARD0000", T);
        assertTrue(g.check("coffee", "CARD0000", T.plusSeconds(10), "'x'").isEmpty(), "no rules yet");
        g.rules(rules(2, Map.of("coffee", new CounterRules.Limits(60, 0, "UTC"))));
        assertEquals(RejectReason.TOO_SOON, g.check("coffee", "CARD0000", T.plusSeconds(10), "'x'").orElseThrow().reason());
        assertTrue(g.check("coffee", "CARD0000", T.plusSeconds(60), "'x'").isEmpty());
    }
}
