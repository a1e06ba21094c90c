package app.sevenstamp.autopilot.protocol;

import java.util.Objects;
import java.util.Set;

/**
 * Where a box is with an update, inside its {@link DeviceStatus} ({@code update}): the sink's rollout reads it.
 *
 * @param version the version the update is about (the manifest's)
 * @param state   {@code downloading}, {@code installing}, {@code healthy} (the new version runs and reached the
 *                sink within the health timeout), {@code failed} (refused or not installed; the box runs what it
 *                ran) or {@code rolled-back} (installed, not healthy in time, the previous version reinstalled)
 * @param detail  for an operator: the reason of a failure or rollback; may be null
 */
public record UpdateReport(String version, String state, String detail) {
    public static final Set<String> STATES = Set.of("downloading", "installing", "healthy", "failed", "rolled-back");

    public UpdateReport {
        Objects.requireNonNull(version, "version");
        Objects.requireNonNull(state, "state");
        if (!STATES.contains(state)) {
            throw new IllegalArgumentException("state '" + state + "' is not one of " + new java.util.TreeSet<>(STATES));
        }
        if (detail != null && detail.length() > 500) {
            detail = detail.substring(0, 500);
        }
    }

    /** Whether the box is done with this version, one way or the other. */
    public boolean finished() {
        return state.equals("healthy") || state.equals("failed") || state.equals("rolled-back");
    }
}
