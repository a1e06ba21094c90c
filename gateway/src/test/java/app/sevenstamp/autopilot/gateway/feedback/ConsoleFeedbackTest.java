package app.sevenstamp.autopilot.gateway.feedback;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

class ConsoleFeedbackTest {

    private final ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    private final PrintStream out = new PrintStream(bytes, true, StandardCharsets.UTF_8);

    private String printed() {
        return bytes.toString(StandardCharsets.UTF_8);
    }

    @Test
    void pipedOutputIsOnePlainLinePerSignalStartingWithItsName() {
        ConsoleFeedback feedback = new ConsoleFeedback(out, false);
        feedback.signal(Signal.ACCEPTED, "card=ABCDEFGHJKMNPQRS program=coffee seq=3");
        feedback.signal(Signal.ACCEPTED_OFFLINE, "card=ABCDEFGHJKMNPQRS program=coffee seq=4");
        feedback.signal(Signal.REWARD_DUE, "card=ABCDEFGHJKMNPQRS");
        feedback.signal(Signal.REJECTED, "reason=BAD_SIGNATURE card X has a bad signature");
        feedback.signal(Signal.SCANNER_LOST, "");
        assertEquals(String.join(System.lineSeparator(),
                "ACCEPTED card=ABCDEFGHJKMNPQRS program=coffee seq=3",
                "ACCEPTED_OFFLINE card=ABCDEFGHJKMNPQRS program=coffee seq=4",
                "REWARD_DUE card=ABCDEFGHJKMNPQRS",
                "REJECTED reason=BAD_SIGNATURE card X has a bad signature",
                "SCANNER_LOST", ""), printed());
    }

    @Test
    void aTerminalGetsColourAndABellForRejects() {
        ConsoleFeedback feedback = new ConsoleFeedback(out, true);
        feedback.signal(Signal.REJECTED, "reason=MALFORMED empty");
        feedback.signal(Signal.ACCEPTED, "seq=1");
        assertEquals("\u001B[31mREJECTED reason=MALFORMED empty\u001B[0m\u0007" + System.lineSeparator()
                + "\u001B[32mACCEPTED seq=1\u001B[0m\u0007" + System.lineSeparator(), printed());
    }

    @Test
    void tooSoonIsYellowAndIdentifyIsALine() {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        ConsoleFeedback feedback = new ConsoleFeedback(new PrintStream(bytes, true, StandardCharsets.UTF_8), true);
        feedback.signal(Signal.TOO_SOON, "reason=TOO_SOON stamped 2 min ago");
        feedback.identify();
        feedback.stopIdentify();
        feedback.selfTest();
        assertEquals("\u001B[33mTOO_SOON reason=TOO_SOON stamped 2 min ago\u001B[0m\u0007" + System.lineSeparator()
                + "IDENTIFY on for=60s" + System.lineSeparator()
                + "IDENTIFY off" + System.lineSeparator(), bytes.toString(StandardCharsets.UTF_8),
                "the self-test prints nothing on stdout: scripts read its first line as the first scan's");
    }
}
