package app.sevenstamp.autopilot.protocol;

import java.util.Collections;
import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;

/**
 * The maps of the wire contract (a desired config, a grant's config, the counter rules): copied, sorted by key
 * and unmodifiable, so that one value has one encoding. Map.copyOf's order changes from JVM to JVM and with the
 * insertion order, so a decoded message re-encoded to another text (found by WireCodecFuzzTest).
 */
final class WireMaps {
    private WireMaps() {
    }

    /** An empty map for null; null keys and values are refused as Map.copyOf refused them. */
    static <V> Map<String, V> sorted(Map<String, V> map) {
        if (map == null) {
            return Map.of();
        }
        TreeMap<String, V> copy = new TreeMap<>();
        map.forEach((k, v) -> copy.put(Objects.requireNonNull(k, "key"), Objects.requireNonNull(v, () -> "value of '" + k + "'")));
        return Collections.unmodifiableMap(copy);
    }
}
