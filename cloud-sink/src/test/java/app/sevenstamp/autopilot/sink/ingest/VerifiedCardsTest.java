package app.sevenstamp.autopilot.sink.ingest;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;

import app.sevenstamp.autopilot.protocol.RejectReason;
import app.sevenstamp.autopilot.protocol.card.CardCheck;
import app.sevenstamp.autopilot.protocol.card.CardSigner;
import app.sevenstamp.autopilot.protocol.testing.Vectors;
import org.junit.jupiter.api.Test;

class VerifiedCardsTest {
    private final CardSigner signer = Vectors.signer();

    @Test
    void aValidCodeIsVerifiedOnceAndAnsweredFromMemoryAfterwards() {
        VerifiedCards cards = new VerifiedCards(Vectors.verifier(), 10);
        String code = signer.sign("coffee", "AAAAAAAAAAAAAAAA");
        CardCheck first = cards.verify(code);
        assertInstanceOf(CardCheck.Valid.class, first);
        assertSame(first, cards.verify(code), "the remembered answer, not a second verification");
        assertEquals(1, cards.size());
    }

    @Test
    void invalidCodesAreNeitherRememberedNorTakenForValid() {
        VerifiedCards cards = new VerifiedCards(Vectors.verifier(), 10);
        String code = signer.sign("coffee", "AAAAAAAAAAAAAAAA");
        // The same card with another card's signature: a forgery must fail every time.
        String other = signer.sign("coffee", "BBBBBBBBBBBBBBBB");
        String forged = code.substring(0, code.lastIndexOf('.')) + other.substring(other.lastIndexOf('.'));
        for (int i = 0; i < 2; i++) {
            CardCheck check = cards.verify(forged);
            assertEquals(RejectReason.BAD_SIGNATURE, assertInstanceOf(CardCheck.Invalid.class, check).reason());
        }
        assertInstanceOf(CardCheck.Invalid.class, cards.verify(null));
        assertEquals(0, cards.size());
    }

    @Test
    void theLeastRecentlyUsedCodeLeavesWhenFull() {
        VerifiedCards cards = new VerifiedCards(Vectors.verifier(), 2);
        String a = signer.sign("coffee", "AAAAAAAAAAAAAAAA");
        String b = signer.sign("coffee", "BBBBBBBBBBBBBBBB");
        String c = signer.sign("coffee", "CCCCCCCCCCCCCCCC");
        CardCheck checkA = cards.verify(a);
        cards.verify(b);
        cards.verify(a); // a used again: b is now the eldest
        cards.verify(c);
        assertEquals(2, cards.size());
        assertSame(checkA, cards.verify(a), "a stayed");
        assertThrows(IllegalArgumentException.class, () -> new VerifiedCards(Vectors.verifier(), 0));
    }
}
