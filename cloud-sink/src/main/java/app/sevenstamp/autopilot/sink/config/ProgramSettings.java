package app.sevenstamp.autopilot.sink.config;

import app.sevenstamp.autopilot.protocol.support.ConfigException;
import app.sevenstamp.autopilot.protocol.support.Settings;
import app.sevenstamp.autopilot.sink.loyalty.RewardPlan;
import app.sevenstamp.autopilot.sink.loyalty.StampRules;
import java.time.DateTimeException;
import java.time.Duration;
import java.time.ZoneId;
import java.util.ArrayList;
import java.util.List;

/**
 * The per-program rules and reward plan.
 *
 * <p>Its keys, their defaults and what they allow: {@link SinkKeys} (and docs/configuration.md).
 */
final class ProgramSettings {
    private ProgramSettings() {
    }

    static StampRules rules(Settings s, String prefix) {
        Duration cooldown = s.duration(SinkKeys.program(SinkKeys.PROGRAM_COOLDOWN, prefix));
        int dailyCap = s.integer(SinkKeys.program(SinkKeys.PROGRAM_DAILY_CAP, prefix));
        Duration minTravel = s.duration(SinkKeys.program(SinkKeys.PROGRAM_MIN_TRAVEL, prefix));
        String zoneText = s.string(SinkKeys.program(SinkKeys.PROGRAM_TIME_ZONE, prefix));
        ZoneId zone;
        try {
            zone = ZoneId.of(zoneText);
        } catch (DateTimeException e) {
            throw Settings.bad(prefix + "timeZone", zoneText, "a time zone id like Europe/Berlin or UTC");
        }
        return new StampRules(cooldown, dailyCap, minTravel, zone);
    }

    static RewardPlan plan(Settings s, String prefix, int stampsRequired) {
        List<Integer> milestones = new ArrayList<>();
        String key = prefix + "milestones";
        String allowed = "increasing whole numbers from 1 to " + (stampsRequired - 1) + " (below stampsRequired), "
                + "separated by commas";
        for (String part : s.list(key)) {
            int m;
            try {
                m = Integer.parseInt(part);
            } catch (NumberFormatException e) {
                throw Settings.bad(key, part, allowed);
            }
            if (m < 1 || m >= stampsRequired || (!milestones.isEmpty() && m <= milestones.get(milestones.size() - 1))) {
                throw new ConfigException(key + ": '" + String.join(",", s.list(key)) + "' is not allowed; allowed: " + allowed);
            }
            milestones.add(m);
        }
        RewardPlan.FullCard fullCard = s.choice(SinkKeys.program(SinkKeys.PROGRAM_FULL_CARD, prefix), RewardPlan.FullCard.class);
        Duration expiry = s.duration(SinkKeys.program(SinkKeys.PROGRAM_STAMP_EXPIRY, prefix));
        return new RewardPlan(milestones, fullCard, expiry);
    }
}
