package app.sevenstamp.autopilot.protocol.support;

import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.security.SecureRandom;
import java.security.Signature;
import java.security.spec.PKCS8EncodedKeySpec;
import java.security.spec.X509EncodedKeySpec;
import java.util.Arrays;

/**
 * Ed25519 with the JDK's own provider, keys kept as their raw 32 bytes. The JDK wants DER; both
 * encodings are a fixed header followed by the raw key, so conversion is a prefix, not a parser.
 * The box's card checks and its device key's derivation use Bouncy Castle's code instead
 * ({@code BcSignatureCheck}, {@link #publicKeyOf}); the JDK's is loaded only where a key object is needed.
 */
public final class Ed25519 {
    public static final int KEY_BYTES = 32;
    public static final int SIGNATURE_BYTES = 64;

    private static final byte[] X509_HEADER = hex("302a300506032b6570032100");
    private static final byte[] PKCS8_HEADER = hex("302e020100300506032b657004220420");

    private Ed25519() {
    }

    /** A new random private key (the 32-byte seed of RFC 8032). */
    public static byte[] newSeed(SecureRandom random) {
        byte[] seed = new byte[KEY_BYTES];
        random.nextBytes(seed);
        return seed;
    }

    public static PrivateKey privateKey(byte[] seed) {
        requireLength(seed, "private key");
        try {
            return KeyFactory.getInstance("Ed25519").generatePrivate(new PKCS8EncodedKeySpec(concat(PKCS8_HEADER, seed)));
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("the JDK's Ed25519 provider refused a 32-byte seed", e);
        }
    }

    public static PublicKey publicKey(byte[] raw) {
        requireLength(raw, "public key");
        try {
            return KeyFactory.getInstance("Ed25519").generatePublic(new X509EncodedKeySpec(concat(X509_HEADER, raw)));
        } catch (GeneralSecurityException e) {
            throw new IllegalArgumentException("not an Ed25519 public key: " + e.getMessage(), e);
        }
    }

    /** The 32 raw bytes of an Ed25519 public key (its X.509 encoding after the fixed header); null if it has none. */
    public static byte[] rawOf(PublicKey key) {
        byte[] der = key.getEncoded();
        if (der == null || der.length != X509_HEADER.length + KEY_BYTES) {
            return null;
        }
        return Arrays.copyOfRange(der, X509_HEADER.length, der.length);
    }

    /**
     * The raw public key that belongs to a seed (RFC 8032's derivation), with Bouncy Castle's code, which the
     * card check already loads: the JDK's key pair generator (fed the seed as its only random bytes) loaded about
     * 100 classes of its Ed25519 into every box at start, for a check of the device key.
     */
    public static byte[] publicKeyOf(byte[] seed) {
        requireLength(seed, "private key");
        byte[] raw = new byte[KEY_BYTES];
        org.bouncycastle.math.ec.rfc8032.Ed25519.generatePublicKey(seed, 0, raw, 0);
        return raw;
    }

    /**
     * A copy of {@code raw}, checked to be the length of a raw public key.
     *
     * @throws IllegalArgumentException naming the length it has
     */
    public static byte[] rawPublicKey(byte[] raw) {
        requireLength(raw, "public key");
        return raw.clone();
    }

    public static byte[] sign(PrivateKey key, byte[] message) {
        try {
            Signature signature = Signature.getInstance("Ed25519");
            signature.initSign(key);
            signature.update(message);
            return signature.sign();
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("Ed25519 signing failed", e);
        }
    }

    /** False for a wrong signature and for one the provider cannot even parse. */
    public static boolean verify(PublicKey key, byte[] message, byte[] sig) {
        try {
            Signature signature = Signature.getInstance("Ed25519");
            signature.initVerify(key);
            signature.update(message);
            return signature.verify(sig);
        } catch (GeneralSecurityException e) {
            return false;
        }
    }

    private static void requireLength(byte[] key, String what) {
        if (key == null || key.length != KEY_BYTES) {
            throw new IllegalArgumentException(what + " must be " + KEY_BYTES + " bytes, was "
                    + (key == null ? "null" : key.length));
        }
    }

    private static byte[] concat(byte[] a, byte[] b) {
        byte[] out = Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }

    private static byte[] hex(String s) {
        byte[] out = new byte[s.length() / 2];
        for (int i = 0; i < out.length; i++) {
            out[i] = (byte) Integer.parseInt(s.substring(2 * i, 2 * i + 2), 16);
        }
        return out;
    }
}
