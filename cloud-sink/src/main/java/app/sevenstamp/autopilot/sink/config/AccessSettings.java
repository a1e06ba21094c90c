package app.sevenstamp.autopilot.sink.config;

import app.sevenstamp.autopilot.protocol.support.Settings;
import java.util.LinkedHashSet;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * Who may talk to the sink besides the broker's own access control.
 *
 * <table>
 * <caption>Keys</caption>
 * <tr><th>key</th><th>default</th><th>allowed</th></tr>
 * <tr><td>{@code devices.allowed}</td><td>(empty: every device)</td><td>comma-separated device ids; events of
 *     other devices are parked as dead letters and not answered</td></tr>
 * <tr><td>{@code admin.token}</td><td>(none: the admin routes answer 404)</td><td>24..200 printable characters
 *     without spaces; the bearer token of {@code /api/v1/admin/...} and of the operator commands</td></tr>
 * </table>
 */
public record AccessSettings(Set<String> allowedDevices, String adminToken) {
    static final Pattern DEVICE_ID = Pattern.compile("[A-Za-z0-9_.-]{1,64}");
    static final Pattern TOKEN = Pattern.compile("[\\x21-\\x7E]{24,200}");

    public AccessSettings {
        allowedDevices = Set.copyOf(allowedDevices);
    }

    static AccessSettings from(Settings s) {
        Set<String> devices = new LinkedHashSet<>();
        for (String id : s.list("devices.allowed")) {
            if (!DEVICE_ID.matcher(id).matches()) {
                throw Settings.bad("devices.allowed", id, "device ids of 1 to 64 letters, digits, '_', '.' or '-', "
                        + "separated by commas");
            }
            devices.add(id);
        }
        String token = s.matching("admin.token", null, TOKEN, "24 to 200 printable characters without spaces");
        return new AccessSettings(devices, token);
    }

    /** Never prints the token. */
    @Override
    public String toString() {
        return "AccessSettings[allowedDevices=" + (allowedDevices.isEmpty() ? "(any)" : allowedDevices)
                + ", adminToken=" + (adminToken == null ? null : "****") + "]";
    }
}
