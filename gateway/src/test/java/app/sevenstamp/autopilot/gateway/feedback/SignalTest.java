package app.sevenstamp.autopilot.gateway.feedback;

import static org.junit.jupiter.api.Assertions.assertEquals;

import app.sevenstamp.autopilot.protocol.RejectReason;
import org.junit.jupiter.api.Test;

class SignalTest {

    @Test
    void tooSoonAndDailyCapSoundTooSoonAndEveryOtherRejectIsRejected() {
        for (RejectReason reason : RejectReason.values()) {
            boolean soon = reason == RejectReason.TOO_SOON || reason == RejectReason.DAILY_CAP;
            assertEquals(soon ? Signal.TOO_SOON : Signal.REJECTED, Signal.forReject(reason),
                    reason.name());
        }
    }
}
