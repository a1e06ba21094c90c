package app.sevenstamp.autopilot.sink.voucher;

import java.util.Optional;

/**
 * Where a box was provisioned to stand (the fleet registry), which decides a voucher's location
 * check instead of the location the box's request claims: a box's credentials must not redeem a
 * voucher bound to another shop by naming that shop.
 */
@FunctionalInterface
public interface DeviceLocations {
    /** Nothing is known: every request's own location is taken (boxes listed in devices.allowed, tests). */
    DeviceLocations NONE = deviceId -> Optional.empty();

    /** The location the device was provisioned for, if it is a provisioned box. */
    Optional<String> of(String deviceId);
}
