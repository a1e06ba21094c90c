package app.sevenstamp.autopilot.protocol.card;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import app.sevenstamp.autopilot.protocol.RejectReason;
import app.sevenstamp.autopilot.protocol.testing.Vectors;
import com.code_intelligence.jazzer.api.FuzzedDataProvider;
import com.code_intelligence.jazzer.junit.FuzzTest;
import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.List;

/**
 * Jazzer targets for card code parsing: what a scanner, a till or a box sends as a card. {@link CardVerifier}
 * promises never to throw and to accept a card only in its one canonical text (issue 12, item 4: two texts
 * must never be one card); the trusted-key list is configuration and refuses only with an
 * IllegalArgumentException.
 */
class CardCodeFuzzTest {
    private static final CardVerifier VERIFIER = Vectors.verifier();
    /** The golden valid codes (signed by the test key), in which the mutation target changes characters. */
    private static final List<String> VALID = Vectors.cardCases().stream()
            .filter(c -> c.expect().equals("VALID")).map(Vectors.CardCase::text).toList();

    @FuzzTest(maxDuration = "10s")
    void verifyNeverThrowsAndValidMeansCanonical(byte[] scan) {
        assertValidOnlyIfCanonical(new String(scan, StandardCharsets.UTF_8));
    }

    /**
     * A golden valid code with a few characters replaced, inserted or removed: it verifies only when it is
     * the very same text again. Random text almost never carries a good signature; this one does.
     */
    @FuzzTest(maxDuration = "10s")
    void anAlteredValidCodeIsNeverValid(FuzzedDataProvider data) {
        String original = VALID.get(data.consumeInt(0, VALID.size() - 1));
        StringBuilder b = new StringBuilder(original);
        int edits = data.consumeInt(1, 4);
        for (int i = 0; i < edits && b.length() > 0; i++) {
            int at = data.consumeInt(0, b.length() - 1);
            char c = data.consumeChar();
            switch (data.consumeInt(0, 2)) {
                case 0 -> b.setCharAt(at, c);
                case 1 -> b.insert(at, c);
                default -> b.deleteCharAt(at);
            }
        }
        String altered = b.toString();
        CardCheck check = assertValidOnlyIfCanonical(altered);
        if (!altered.equals(original)) {
            assertTrue(check instanceof CardCheck.Invalid, "'" + altered + "' (altered from '" + original
                    + "') verified as " + check);
        }
    }

    @FuzzTest(maxDuration = "10s")
    void trustedKeysParseOrAreRefused(byte[] entry) {
        try {
            CardVerifier parsed = CardVerifier.parse(List.of(new String(entry, StandardCharsets.UTF_8)));
            assertTrue(!parsed.isEmpty());
        } catch (IllegalArgumentException e) {
            assertNotNull(e.getMessage());
        }
    }

    private static CardCheck assertValidOnlyIfCanonical(String text) {
        CardCheck check = VERIFIER.verify(text);
        assertNotNull(check);
        if (check instanceof CardCheck.Valid valid) {
            CardCode card = valid.card();
            String[] parts = text.split("\\.", -1);
            assertEquals(5, parts.length, text);
            assertEquals(CardCode.MAGIC + "." + card.keyId() + "." + card.programId() + "." + card.cardId(),
                    text.substring(0, text.lastIndexOf('.')));
            byte[] signature = Base64.getUrlDecoder().decode(parts[4]);
            assertEquals(Base64.getUrlEncoder().withoutPadding().encodeToString(signature), parts[4],
                    "a valid card's signature must be in canonical base64url");
        } else {
            CardCheck.Invalid invalid = (CardCheck.Invalid) check;
            assertNotNull(invalid.reason());
            assertTrue(invalid.reason() != RejectReason.MALFORMED || !invalid.detail().isEmpty());
        }
        return check;
    }
}
