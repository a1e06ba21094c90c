package app.sevenstamp.autopilot.gateway.scan;

import java.util.Objects;
import java.util.concurrent.atomic.AtomicReference;

/**
 * What the daemon knows about its scanner right now, for the status message and the log. Written by
 * the scan source's thread, read by anyone: one atomic reference to an immutable snapshot, no lock.
 */
public final class ScannerState {

    public enum Phase {
        /** Not opened yet, or looking for a device (auto-detection found none). */
        SEARCHING,
        /** Open and reading. */
        READY,
        /** It was open and went away (unplugged, failed); being reopened. */
        LOST,
        /** Stdin reached its end; no more scans from it. */
        ENDED
    }

    /**
     * @param device the device in use or last used; null before the first open
     * @param detail why it is in this phase, for a person
     * @param losses how often the scanner was lost since start
     */
    public record Snapshot(Phase phase, String device, String detail, long losses) {
        public Snapshot {
            Objects.requireNonNull(phase, "phase");
            Objects.requireNonNull(detail, "detail");
        }
    }

    private final AtomicReference<Snapshot> current;

    public ScannerState(String detail) {
        current = new AtomicReference<>(new Snapshot(Phase.SEARCHING, null, detail, 0));
    }

    public Snapshot get() {
        return current.get();
    }

    public void searching(String detail) {
        current.updateAndGet(s -> new Snapshot(Phase.SEARCHING, s.device(), detail, s.losses()));
    }

    public void ready(String device) {
        current.updateAndGet(s -> new Snapshot(Phase.READY, device, "open", s.losses()));
    }

    public void lost(String reason) {
        current.updateAndGet(s -> new Snapshot(Phase.LOST, s.device(), reason, s.losses() + 1));
    }

    public void ended(String detail) {
        current.updateAndGet(s -> new Snapshot(Phase.ENDED, s.device(), detail, s.losses()));
    }
}
