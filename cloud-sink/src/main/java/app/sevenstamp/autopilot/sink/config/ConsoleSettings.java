package app.sevenstamp.autopilot.sink.config;

import app.sevenstamp.autopilot.protocol.support.Settings;
import java.time.Duration;

/**
 * The owner's console: how long a sign-in lasts, and whether its cookie is for HTTPS only.
 *
 * <table>
 * <caption>Keys</caption>
 * <tr><th>key</th><th>default</th><th>allowed</th></tr>
 * <tr><td>{@code console.sessionIdle}</td><td>{@code 12h}</td><td>5m..7d: a session without a request this long ends</td></tr>
 * <tr><td>{@code console.sessionLongest}</td><td>{@code 7d}</td><td>1h..90d: a session ends this long after sign-in in any case</td></tr>
 * <tr><td>{@code console.secureCookie}</td><td>{@code true}</td><td>{@code true}, {@code false}: the session cookie is sent over
 *     HTTPS only (browsers also send it to {@code http://localhost}); {@code false} only for a console reached over plain
 *     HTTP on a trusted network</td></tr>
 * </table>
 */
public record ConsoleSettings(Duration sessionIdle, Duration sessionLongest, boolean secureCookie) {

    public static ConsoleSettings defaults() {
        return new ConsoleSettings(Duration.ofHours(12), Duration.ofDays(7), true);
    }

    static ConsoleSettings from(Settings s) {
        Duration idle = s.duration("console.sessionIdle", Duration.ofHours(12), Duration.ofMinutes(5), Duration.ofDays(7));
        Duration longest = s.duration("console.sessionLongest", Duration.ofDays(7), Duration.ofHours(1), Duration.ofDays(90));
        boolean secure = s.bool("console.secureCookie", true);
        return new ConsoleSettings(idle, longest, secure);
    }
}
