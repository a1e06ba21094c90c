package app.sevenstamp.autopilot.protocol;

import java.util.Map;
import java.util.Objects;

/**
 * The configuration the sink wants a gateway to run, retained on {@code PREFIX/gw/{id}/config}.
 * The whole desired set every time (not a diff), so a retained message alone is enough for a box
 * that was offline. A gateway applies a version only if it is newer than the one it runs.
 *
 * @param schema   wire schema version
 * @param deviceId the gateway
 * @param version  increases with every change
 * @param settings gateway config keys and values that override the box's own file
 */
public record DesiredConfig(int schema, String deviceId, long version, Map<String, String> settings) {

    public DesiredConfig {
        Objects.requireNonNull(deviceId, "deviceId");
        settings = WireMaps.sorted(settings);
    }
}
