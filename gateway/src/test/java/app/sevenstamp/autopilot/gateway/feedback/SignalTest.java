package app.sevenstamp.autopilot.gateway.feedback;

import static org.junit.jupiter.api.Assertions.assertEquals;

import app.sevenstamp.autopilot.protocol.RejectReason;
import org.junit.jupiter.api.Test;

class SignalTest {

    @Test
    void tooSoonHasItsOwnSignalAndEveryOtherRejectIsRejected() {
        for (RejectReason reason : RejectReason.values()) {
            assertEquals(reason == RejectReason.TOO_SOON ? Signal.TOO_SOON : Signal.REJECTED, Signal.forReject(reason),
                    reason.name());
        }
    }
}
