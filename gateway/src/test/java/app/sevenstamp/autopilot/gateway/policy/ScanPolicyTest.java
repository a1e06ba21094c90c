package app.sevenstamp.autopilot.gateway.policy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import app.sevenstamp.autopilot.gateway.scan.Frame;
import app.sevenstamp.autopilot.gateway.support.Excerpt;
import app.sevenstamp.autopilot.protocol.RejectReason;
import app.sevenstamp.autopilot.protocol.testing.Vectors;
import java.util.Set;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

class ScanPolicyTest {

    private final ScanPolicy anyProgram = new ScanPolicy(Vectors.verifier(), Set.of());

    static Stream<Vectors.CardCase> cardCases() {
        return Vectors.cardCases().stream();
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cardCases")
    void decidesEveryGoldenCardCaseAsTheVectorSays(Vectors.CardCase c) {
        Decision decision = anyProgram.decide(new Frame.Text(c.text()));
        if (c.expect().equals("VALID")) {
            Decision.Accept accept = assertInstanceOf(Decision.Accept.class, decision);
            assertEquals(c.programId(), accept.card().programId());
            assertEquals(c.cardId(), accept.card().cardId());
            assertEquals(c.text(), accept.code());
        } else {
            Decision.Reject reject = assertInstanceOf(Decision.Reject.class, decision);
            assertEquals(RejectReason.valueOf(c.expect()), reject.reason());
        }
    }

    @Test
    void programOutsideTheAllowListIsUnknownProgram() {
        ScanPolicy coffeeOnly = new ScanPolicy(Vectors.verifier(), Set.of("coffee", "bakery-7"));
        Decision decision = coffeeOnly.decide(new Frame.Text(
                Vectors.cardText("valid signature, program the gateway does not run")));
        Decision.Reject reject = assertInstanceOf(Decision.Reject.class, decision);
        assertEquals(RejectReason.UNKNOWN_PROGRAM, reject.reason());
        assertEquals("card ABCDEFGHJKMNPQRS is of program 'tea', this counter runs bakery-7, coffee (cards.programs)",
                reject.detail());
    }

    @Test
    void programInTheAllowListIsAccepted() {
        ScanPolicy coffeeOnly = new ScanPolicy(Vectors.verifier(), Set.of("coffee"));
        assertInstanceOf(Decision.Accept.class, coffeeOnly.decide(new Frame.Text(Vectors.cardText("valid"))));
    }

    @Test
    void overlongFrameIsMalformed() {
        Decision.Reject reject = assertInstanceOf(Decision.Reject.class,
                anyProgram.decide(new Frame.Overlong(10_000, 256)));
        assertEquals(RejectReason.MALFORMED, reject.reason());
        assertEquals("scan of 10000 bytes is longer than scanner.maxLength (256)", reject.detail());
    }

    @Test
    void binaryGarbageIsMalformed() {
        Decision.Reject reject = assertInstanceOf(Decision.Reject.class,
                anyProgram.decide(new Frame.Text("\u0000\u001B[2J\uFFFD\uFFFD")));
        assertEquals(RejectReason.MALFORMED, reject.reason());
    }

    @Test
    void rejectNeverCarriesTheWholeScannedText() {
        String forged = Vectors.cardText("forged: signed by another key under the trusted key id");
        Decision.Reject reject = assertInstanceOf(Decision.Reject.class, anyProgram.decide(new Frame.Text(forged)));
        assertEquals(RejectReason.BAD_SIGNATURE, reject.reason());
        assertFalse(reject.detail().contains(forged));
        assertFalse(reject.excerpt().contains(forged));
        assertTrue(reject.excerpt().startsWith("'7S1.k1.coffee."));
    }

    @Test
    void excerptIsTruncatedAndEscaped() {
        assertEquals("'abc\\r\\n\\u001B[2J\\u00E9'", Excerpt.of("abc\r\n\u001B[2Jé"));
        String long50 = "0123456789".repeat(5);
        assertEquals("'" + long50.substring(0, 40) + "'... (50 chars)", Excerpt.of(long50));
    }
}
