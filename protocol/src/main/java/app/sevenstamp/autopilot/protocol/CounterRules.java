package app.sevenstamp.autopilot.protocol;

import java.util.Map;
import java.util.Objects;

/**
 * The sink's stamp rules per program, retained on {@code PREFIX/rules} for every box, so that a box decides
 * offline with bounded risk: it refuses a second stamp of one card within the cooldown, or beyond the daily
 * cap, on its own counter. Across counters the sink stays the judge; what a box lets through, the sink can
 * still reject. The whole set every time; a box keeps the newest version it has seen.
 *
 * @param schema   wire schema version
 * @param version  increases whenever the rules change
 * @param programs program id to its limits; a program not listed has no limits at the counter
 */
public record CounterRules(int schema, long version, Map<String, Limits> programs) {

    public CounterRules {
        programs = WireMaps.sorted(programs);
    }

    /**
     * @param cooldownSeconds minimum seconds between two stamps of one card; 0 for none
     * @param dailyCap        maximum stamps of one card per day; 0 for none
     * @param timeZone        where the day of the daily cap begins, a zone id such as {@code Europe/Berlin}
     */
    public record Limits(long cooldownSeconds, int dailyCap, String timeZone) {
        public Limits {
            Objects.requireNonNull(timeZone, "timeZone");
            if (cooldownSeconds < 0 || dailyCap < 0) {
                throw new IllegalArgumentException("cooldownSeconds and dailyCap must be >= 0");
            }
        }
    }
}
