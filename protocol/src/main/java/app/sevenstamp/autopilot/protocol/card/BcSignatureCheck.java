package app.sevenstamp.autopilot.protocol.card;

import app.sevenstamp.autopilot.protocol.support.Ed25519;
import java.security.PublicKey;

/**
 * Ed25519 verification with Bouncy Castle's RFC 8032 code instead of the JDK's: the same check for much
 * less CPU. With the box's JVM flags (C1 only, 64 MB heap) on the 2-CPU VM, warm: 0.13 against 1.4 ms back
 * to back, 0.43 against 2.3-2.6 ms at one scan per 100 ms (docs/perf/card-check.md). On the box it is the
 * largest part of a scan's way to its light; on the sink it was 28 % of the ingest thread's samples. Like
 * the JDK it rejects a non-canonical S and a malformed point; {@code BcSignatureCheckTest} holds it to the
 * JDK's answers ({@code Ed25519.verify} in protocol.support). Stateless and thread-safe.
 */
public final class BcSignatureCheck {
    private BcSignatureCheck() {
    }

    /**
     * Builds Bouncy Castle's tables of base-point multiples now (once per process; 150-370 ms here before
     * the JIT has compiled anything, more on a Pi), so that the first customer's scan does not wait for
     * them. Safe to call from any thread and more than once; a verify that comes first builds them itself.
     */
    public static void warmUp() {
        org.bouncycastle.math.ec.rfc8032.Ed25519.precompute();
    }

    /** Whether {@code signature} is {@code key}'s Ed25519 signature of {@code message}; never throws. */
    public static boolean verify(PublicKey key, byte[] message, byte[] signature) {
        return verify(Ed25519.rawOf(key), message, signature);
    }

    /** The same for a raw 32-byte public key; false for a key of another length. */
    public static boolean verify(byte[] rawKey, byte[] message, byte[] signature) {
        if (signature == null || signature.length != Ed25519.SIGNATURE_BYTES || message == null || rawKey == null
                || rawKey.length != Ed25519.KEY_BYTES) {
            return false;
        }
        try {
            return org.bouncycastle.math.ec.rfc8032.Ed25519.verify(signature, 0, rawKey, 0, message, 0, message.length);
        } catch (RuntimeException e) {
            return false; // a check that cannot be made is a bad signature, as with the JDK's
        }
    }
}
