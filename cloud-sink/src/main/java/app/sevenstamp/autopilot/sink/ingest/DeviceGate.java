package app.sevenstamp.autopilot.sink.ingest;

import java.util.Set;

/**
 * Which devices the sink takes events from. The seam for the fleet registry: today either every
 * device ({@link #ANY}, the single-shop default, where the broker's credentials already decide who
 * may publish) or a configured list ({@code devices.allowed}). Events of other devices are parked
 * as dead letters of kind {@value #KIND} and not answered, so the gateway keeps them until the
 * device is admitted. Implementations are thread-safe.
 */
@FunctionalInterface
public interface DeviceGate {
    /** The dead-letter and malformed-counter kind of an event from a device that is not admitted. */
    String KIND = "device";

    DeviceGate ANY = deviceId -> true;

    boolean admits(String deviceId);

    /** Admits a device only when both gates do (the configured list, and the fleet's revocations). */
    default DeviceGate and(DeviceGate other) {
        return deviceId -> admits(deviceId) && other.admits(deviceId);
    }

    static DeviceGate listed(Set<String> devices) {
        Set<String> copy = Set.copyOf(devices);
        return copy.isEmpty() ? ANY : copy::contains;
    }
}
