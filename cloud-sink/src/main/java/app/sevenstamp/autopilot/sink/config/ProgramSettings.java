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
 * <table>
 * <caption>Keys</caption>
 * <tr><th>key</th><th>default</th><th>allowed</th></tr>
 * <tr><td>{@code program.<id>.cooldown}</td><td>{@code 0s} (off)</td><td>0s..1d; minimum time between two stamps on one card</td></tr>
 * <tr><td>{@code program.<id>.dailyCap}</td><td>{@code 0} (off)</td><td>0..100 stamps per card per day</td></tr>
 * <tr><td>{@code program.<id>.minTravel}</td><td>{@code 0s} (off)</td><td>0s..1d; stamps of one card at two locations closer in time are flagged IMPOSSIBLE_TRAVEL</td></tr>
 * <tr><td>{@code program.<id>.timeZone}</td><td>{@code UTC}</td><td>a zone id like {@code Europe/Berlin}; where the day of the daily cap begins</td></tr>
 * <tr><td>{@code program.<id>.milestones}</td><td>(none)</td><td>increasing stamp counts below stampsRequired, comma-separated, each earning a reward</td></tr>
 * <tr><td>{@code program.<id>.fullCard}</td><td>{@code new-round}</td><td>{@code new-round} or {@code carry-over}</td></tr>
 * <tr><td>{@code program.<id>.stampExpiry}</td><td>{@code 0d} (never)</td><td>0d..3650d; a round's stamps lapse after this long without a stamp</td></tr>
 * </table>
 */
final class ProgramSettings {
    private static final Duration DAY = Duration.ofDays(1);

    private ProgramSettings() {
    }

    static StampRules rules(Settings s, String prefix) {
        Duration cooldown = s.duration(prefix + "cooldown", Duration.ZERO, Duration.ZERO, DAY);
        int dailyCap = s.integer(prefix + "dailyCap", 0, 0, 100);
        Duration minTravel = s.duration(prefix + "minTravel", Duration.ZERO, Duration.ZERO, DAY);
        String zoneText = s.string(prefix + "timeZone", "UTC");
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
        RewardPlan.FullCard fullCard = s.choice(prefix + "fullCard", RewardPlan.FullCard.NEW_ROUND, RewardPlan.FullCard.class);
        Duration expiry = s.duration(prefix + "stampExpiry", Duration.ZERO, Duration.ZERO, Duration.ofDays(3650));
        return new RewardPlan(milestones, fullCard, expiry);
    }
}
