package app.sevenstamp.autopilot.protocol;

import java.util.Map;
import java.util.Objects;

/**
 * What a gateway receives when its claim is accepted (inside {@link ProvisionResponse#sealed()}).
 *
 * @param schema        wire schema version
 * @param deviceId      the identity the sink gave this box; also its MQTT client id
 * @param location      the location the claim binds it to
 * @param username      the box's own MQTT user name
 * @param password      its MQTT password
 * @param configVersion the version of {@code config}
 * @param config        the initial configuration (gateway config keys, e.g. {@code cards.trustedKeys})
 */
public record ProvisionGrant(int schema, String deviceId, String location, String username, String password,
        long configVersion, Map<String, String> config) {

    public ProvisionGrant {
        Topics.requireDeviceId(deviceId);
        Objects.requireNonNull(location, "location");
        Objects.requireNonNull(username, "username");
        Objects.requireNonNull(password, "password");
        config = WireMaps.sorted(config);
    }

    /** Never prints the password. */
    @Override
    public String toString() {
        return "ProvisionGrant[deviceId=" + deviceId + ", location=" + location + ", username=" + username
                + ", configVersion=" + configVersion + ", config=" + config.keySet() + "]";
    }
}
