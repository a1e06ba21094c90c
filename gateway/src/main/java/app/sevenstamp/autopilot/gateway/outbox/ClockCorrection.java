package app.sevenstamp.autopilot.gateway.outbox;

import app.sevenstamp.autopilot.protocol.StampEvent;
import java.time.Instant;

/**
 * The rewrite of an event scanned before the clock synchronised. Its wall time is recomputed from the
 * monotonic clock of the same boot, {@code wall = syncedNow - (monoNow - monoThen)}, which is as good as
 * the synchronised clock; {@code clockSynced} turns true (the time can be trusted, which is what readers
 * of that flag want to know) and {@code clockCorrected} says it was recomputed after the scan.
 */
final class ClockCorrection {
    private ClockCorrection() {
    }

    static StampEvent corrected(StampEvent e, Instant wall) {
        return new StampEvent(e.schema(), e.eventId(), e.deviceId(), e.seq(), e.cardCode(), e.programId(), e.cardId(),
                e.location(), wall, e.monotonicNanos(), e.bootId(), true, e.kind(), Boolean.TRUE);
    }
}
