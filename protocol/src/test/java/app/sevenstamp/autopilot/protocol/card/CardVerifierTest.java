package app.sevenstamp.autopilot.protocol.card;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import app.sevenstamp.autopilot.protocol.RejectReason;
import app.sevenstamp.autopilot.protocol.support.Ed25519;
import app.sevenstamp.autopilot.protocol.testing.Vectors;
import java.security.SecureRandom;
import java.util.HexFormat;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

class CardVerifierTest {
    private final CardVerifier verifier = Vectors.verifier();

    @Test
    void everyGoldenCaseGivesItsExpectedResult() {
        for (Vectors.CardCase c : Vectors.cardCases()) {
            CardCheck check = verifier.verify(c.text());
            if (c.expect().equals("VALID")) {
                CardCheck.Valid valid = assertInstanceOf(CardCheck.Valid.class, check, c.name());
                assertEquals(c.programId(), valid.card().programId(), c.name());
                assertEquals(c.cardId(), valid.card().cardId(), c.name());
            } else {
                CardCheck.Invalid invalid = assertInstanceOf(CardCheck.Invalid.class, check, c.name());
                assertEquals(RejectReason.valueOf(c.expect()), invalid.reason(), c.name() + ": " + invalid.detail());
            }
        }
    }

    /**
     * 86 base64url characters carry 516 bits for a 64-byte signature: the last character's 4 low
     * bits are unused, and a lenient decoder maps 16 texts (and a padded one) to the same bytes.
     * One card must have one text, or the texts a card was seen under cannot be told apart.
     */
    @Test
    void signatureIsAcceptedOnlyInItsCanonicalBase64url() {
        String valid = Vectors.cardText("valid");
        assertInstanceOf(CardCheck.Valid.class, verifier.verify(valid));
        String alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
        int last = alphabet.indexOf(valid.charAt(valid.length() - 1));
        String sameBytes = valid.substring(0, valid.length() - 1) + alphabet.charAt(last ^ 1);
        CardCheck.Invalid invalid = assertInstanceOf(CardCheck.Invalid.class, verifier.verify(sameBytes));
        assertEquals(RejectReason.MALFORMED, invalid.reason());
        assertEquals("signature is not in canonical base64url (unpadded, unused bits zero)", invalid.detail());
        assertInstanceOf(CardCheck.Invalid.class, verifier.verify(valid + "=="));
    }

    @Test
    void derivedPublicKeyMatchesRfc8032TestVector1() {
        HexFormat hex = HexFormat.of();
        byte[] seed = hex.parseHex("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60");
        assertEquals("d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a",
                hex.formatHex(Ed25519.publicKeyOf(seed)));
    }

    @Test
    void freshKeySignsCodesItsPublicKeyVerifies() {
        SecureRandom random = new SecureRandom();
        byte[] seed = Ed25519.newSeed(random);
        CardSigner signer = new CardSigner("k2", seed);
        String cardId = CardSigner.newCardId(random);
        String code = signer.sign("coffee", cardId);
        assertTrue(code.length() <= CardCode.MAX_LENGTH, code.length() + " characters");
        CardVerifier own = CardVerifier.parse(List.of(CardVerifier.formatPublicKey("k2", Ed25519.publicKeyOf(seed))));
        CardCheck.Valid valid = assertInstanceOf(CardCheck.Valid.class, own.verify(code));
        assertEquals(cardId, valid.card().cardId());
        assertEquals(16, cardId.length());
    }

    @Test
    void unknownKeyNamesTheTrustedOnes() {
        CardCheck.Invalid invalid = assertInstanceOf(CardCheck.Invalid.class,
                verifier.verify(Vectors.cardText("unknown key id")));
        assertEquals("card ABCDEFGHJKMNPQRS is signed by unknown key 'k9' (trusted: k1)", invalid.detail());
    }

    @Test
    void randomInputNeverThrowsAndIsNeverValid() {
        Random random = new Random(7);
        String valid = Vectors.cardText("valid");
        for (int i = 0; i < 20_000; i++) {
            String text;
            if (i % 2 == 0) {
                char[] chars = new char[random.nextInt(200)];
                for (int j = 0; j < chars.length; j++) {
                    chars[j] = (char) random.nextInt(i % 4 == 0 ? 128 : 0x10000);
                }
                text = new String(chars);
            } else {
                // a valid code with one character changed: the signature or the shape must catch it
                char[] chars = valid.toCharArray();
                int at = random.nextInt(chars.length);
                char replacement = (char) (0x21 + random.nextInt(0x5E));
                if (replacement == chars[at]) {
                    continue;
                }
                chars[at] = replacement;
                text = new String(chars);
            }
            CardCheck check = verifier.verify(text);
            assertNotNull(check);
            if (check instanceof CardCheck.Valid) {
                // only base64url's unused low bits of the last character may change without effect
                assertTrue(text.startsWith(valid.substring(0, valid.length() - 1)), "accepted altered code " + text);
            }
        }
    }

    @Test
    void badTrustedKeyEntriesAreNamed() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> CardVerifier.parse(List.of("k1")));
        assertEquals("'k1' is not of the form keyId:publicKey", e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> CardVerifier.parse(List.of("k1:AAAA")));
        assertEquals("public key must be 32 bytes, was 3", e.getMessage());
    }

    /** What the box logs for a rejected scan must say what was wrong with it, in the code's own limits. */
    @Test
    void rejectsSayWhatWasWrong() {
        assertEquals("scan of 161 characters is longer than a card code can be (at most 160 characters)", detail("A".repeat(161)));
        assertEquals("blank scan (3 spaces or tabs, nothing else)", detail("   "));
        assertEquals("scan contains a space at 3; card codes have none", detail("7S1 k1"));
        assertEquals("scan contains a control or non-ASCII character at 1 (U+00E9)", detail("c\u00e9"));
        assertEquals("empty scan", detail(""));
    }

    private String detail(String scan) {
        return assertInstanceOf(CardCheck.Invalid.class, verifier.verify(scan)).detail();
    }
}
