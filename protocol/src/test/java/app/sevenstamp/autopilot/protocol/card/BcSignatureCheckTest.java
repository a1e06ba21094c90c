package app.sevenstamp.autopilot.protocol.card;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import app.sevenstamp.autopilot.protocol.support.Ed25519;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.security.SecureRandom;
import java.util.Arrays;
import org.junit.jupiter.api.Test;

/** Bouncy Castle's Ed25519 check gives the JDK's answer, for good signatures and for every kind of bad one. */
class BcSignatureCheckTest {
    private static final BigInteger L = BigInteger.TWO.pow(252).add(new BigInteger("27742317777372353535851937790883648493"));
    private final SecureRandom random = new SecureRandom();
    private final byte[] seed = Ed25519.newSeed(random);
    private final PrivateKey privateKey = Ed25519.privateKey(seed);
    private final PublicKey publicKey = Ed25519.publicKey(Ed25519.publicKeyOf(seed));

    private void same(PublicKey key, byte[] message, byte[] signature, boolean expected) {
        assertEquals(expected, Ed25519.verify(key, message, signature), "the JDK's answer");
        assertEquals(expected, BcSignatureCheck.verify(key, message, signature), "Bouncy Castle's answer");
    }

    @Test
    void acceptsWhatTheJdkAcceptsAndRejectsEveryFlippedBit() {
        for (int n = 0; n < 20; n++) {
            byte[] message = ("7S1.k1.coffee.CARD" + n).getBytes(StandardCharsets.US_ASCII);
            byte[] signature = Ed25519.sign(privateKey, message);
            same(publicKey, message, signature, true);
            for (int bit = 0; bit < signature.length * 8; bit += 7) {
                byte[] bad = signature.clone();
                bad[bit / 8] ^= (byte) (1 << (bit % 8));
                same(publicKey, message, bad, false);
            }
            byte[] otherMessage = message.clone();
            otherMessage[otherMessage.length - 1] ^= 1;
            same(publicKey, otherMessage, signature, false);
        }
    }

    @Test
    void rejectsANonCanonicalSLikeTheJdk() {
        byte[] message = "7S1.k1.coffee.ABCDEFGHJKMNPQRS".getBytes(StandardCharsets.US_ASCII);
        byte[] signature = Ed25519.sign(privateKey, message);
        byte[] s = Arrays.copyOfRange(signature, 32, 64);
        BigInteger plusL = littleEndian(s).add(L); // the same scalar mod L: malleable unless refused
        byte[] bad = signature.clone();
        System.arraycopy(toLittleEndian(plusL), 0, bad, 32, 32);
        same(publicKey, message, bad, false);
    }

    @Test
    void rejectsOtherKeysAndNonsense() {
        byte[] message = "7S1.k1.coffee.X".getBytes(StandardCharsets.US_ASCII);
        byte[] signature = Ed25519.sign(privateKey, message);
        byte[] otherSeed = Ed25519.newSeed(random);
        same(Ed25519.publicKey(Ed25519.publicKeyOf(otherSeed)), message, signature, false);
        same(publicKey, message, new byte[64], false);
        byte[] allOnes = new byte[64];
        Arrays.fill(allOnes, (byte) 0xff);
        same(publicKey, message, allOnes, false);
        assertFalse(BcSignatureCheck.verify(publicKey, message, Arrays.copyOf(signature, 63)));
        assertTrue(BcSignatureCheck.verify(publicKey, message, signature));
    }

    private static BigInteger littleEndian(byte[] b) {
        byte[] be = new byte[b.length];
        for (int i = 0; i < b.length; i++) {
            be[i] = b[b.length - 1 - i];
        }
        return new BigInteger(1, be);
    }

    private static byte[] toLittleEndian(BigInteger v) {
        byte[] be = v.toByteArray();
        byte[] le = new byte[32];
        for (int i = 0; i < 32 && i < be.length; i++) {
            le[i] = be[be.length - 1 - i];
        }
        return le;
    }
}
