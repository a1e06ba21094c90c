package app.sevenstamp.autopilot.sink.config;

import app.sevenstamp.autopilot.protocol.support.Settings;
import java.util.LinkedHashSet;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * Who may talk to the sink besides the broker's own access control.
 *
 * <p>Its keys, their defaults and what they allow: {@link SinkKeys} (and docs/configuration.md).
 */
public record AccessSettings(Set<String> allowedDevices, String adminToken, java.util.Map<String, String> posKeys) {
    static final Pattern DEVICE_ID = Pattern.compile("[A-Za-z0-9_.-]{1,64}");
    static final Pattern LOCATION = Pattern.compile("[a-z0-9][a-z0-9-]{0,31}");
    static final Pattern TOKEN = Pattern.compile("[\\x21-\\x7E]{24,200}");

    public AccessSettings {
        allowedDevices = Set.copyOf(allowedDevices);
        posKeys = java.util.Map.copyOf(posKeys);
    }

    static AccessSettings from(Settings s) {
        Set<String> devices = new LinkedHashSet<>();
        for (String id : s.list(SinkKeys.DEVICES_ALLOWED.name())) {
            if (!DEVICE_ID.matcher(id).matches()) {
                throw Settings.bad("devices.allowed", id, "device ids of 1 to 64 letters, digits, '_', '.' or '-', "
                        + "separated by commas");
            }
            devices.add(id);
        }
        String token = s.matching(SinkKeys.ADMIN_TOKEN, TOKEN, "24 to 200 printable characters without spaces");
        java.util.Map<String, String> pos = new java.util.TreeMap<>();
        for (String key : s.keysUnder("pos.")) {
            String rest = key.substring("pos.".length());
            int dot = rest.indexOf('.');
            String location = dot < 0 ? rest : rest.substring(0, dot);
            if (dot < 0 || !rest.substring(dot + 1).equals("apiKey") || !LOCATION.matcher(location).matches()) {
                throw new app.sevenstamp.autopilot.protocol.support.ConfigException(key + ": not a POS setting; write "
                        + "pos.<location>.apiKey=<key>, <location> being 1 to 32 of a-z, 0-9 and '-'");
            }
            String apiKey = s.matching(key, null, TOKEN, "24 to 200 printable characters without spaces");
            if (pos.containsValue(apiKey)) {
                throw new app.sevenstamp.autopilot.protocol.support.ConfigException(key + ": the same key is set for "
                        + "another location; each location needs its own key (it decides the location of a stamp)");
            }
            pos.put(location, apiKey);
        }
        return new AccessSettings(devices, token, pos);
    }

    /** Never prints the token. */
    @Override
    public String toString() {
        return "AccessSettings[allowedDevices=" + (allowedDevices.isEmpty() ? "(any)" : allowedDevices)
                + ", adminToken=" + (adminToken == null ? null : "****") + ", posLocations=" + posKeys.keySet() + "]";
    }
}
