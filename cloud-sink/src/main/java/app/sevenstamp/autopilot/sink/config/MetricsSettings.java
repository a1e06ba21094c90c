package app.sevenstamp.autopilot.sink.config;

import app.sevenstamp.autopilot.protocol.support.Settings;

/**
 * Who may read {@code GET /metrics} (docs/metrics.md).
 *
 * <p>Its keys, their defaults and what they allow: {@link SinkKeys} (and docs/configuration.md).
 */
public record MetricsSettings(String token) {

    public static MetricsSettings open() {
        return new MetricsSettings(null);
    }

    static MetricsSettings from(Settings s) {
        return new MetricsSettings(s.matching(SinkKeys.METRICS_TOKEN, AccessSettings.TOKEN,
                "24 to 200 printable characters without spaces"));
    }

    /** Never prints the token. */
    @Override
    public String toString() {
        return "MetricsSettings[token=" + (token == null ? null : "****") + "]";
    }
}
