package app.sevenstamp.autopilot.sink.config;

import app.sevenstamp.autopilot.protocol.support.Settings;

/**
 * Who may read {@code GET /metrics} (docs/metrics.md).
 *
 * <table>
 * <caption>Keys</caption>
 * <tr><th>key</th><th>default</th><th>allowed</th></tr>
 * <tr><td>{@code metrics.token}</td><td>(none: {@code /metrics} is public, like {@code /api/v1/metrics})</td><td>24..200
 *     printable characters without spaces; Prometheus sends it as {@code Authorization: Bearer <token>}. Without it,
 *     expose {@code /metrics} only inside the network (the reverse proxy does not forward it): it names devices
 *     and locations</td></tr>
 * </table>
 */
public record MetricsSettings(String token) {

    public static MetricsSettings open() {
        return new MetricsSettings(null);
    }

    static MetricsSettings from(Settings s) {
        return new MetricsSettings(s.matching("metrics.token", null, AccessSettings.TOKEN,
                "24 to 200 printable characters without spaces"));
    }

    /** Never prints the token. */
    @Override
    public String toString() {
        return "MetricsSettings[token=" + (token == null ? null : "****") + "]";
    }
}
