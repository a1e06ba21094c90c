package app.sevenstamp.autopilot.sink.config;

import app.sevenstamp.autopilot.protocol.support.Settings;
import java.time.Duration;

/**
 * The owner's console: how long a sign-in lasts, and whether its cookie is for HTTPS only.
 *
 * <p>Its keys, their defaults and what they allow: {@link SinkKeys} (and docs/configuration.md).
 */
public record ConsoleSettings(Duration sessionIdle, Duration sessionLongest, boolean secureCookie) {

    public static ConsoleSettings defaults() {
        return new ConsoleSettings(Duration.ofHours(12), Duration.ofDays(7), true);
    }

    static ConsoleSettings from(Settings s) {
        Duration idle = s.duration(SinkKeys.CONSOLE_SESSION_IDLE);
        Duration longest = s.duration(SinkKeys.CONSOLE_SESSION_LONGEST);
        boolean secure = s.bool(SinkKeys.CONSOLE_SECURE_COOKIE);
        return new ConsoleSettings(idle, longest, secure);
    }
}
