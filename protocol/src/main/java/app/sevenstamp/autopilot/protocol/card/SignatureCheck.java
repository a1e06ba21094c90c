package app.sevenstamp.autopilot.protocol.card;

import app.sevenstamp.autopilot.protocol.support.Ed25519;
import java.security.PublicKey;

/**
 * The Ed25519 verification a {@link CardVerifier} uses: {@link BcSignatureCheck} unless told, the JDK's own
 * ({@link #JDK}) as the reference it is held to. Must be thread-safe and never throw: a signature that
 * cannot be checked is a bad one.
 */
@FunctionalInterface
public interface SignatureCheck {
    /** The JDK's provider (SunEC): the same answers for 5 to 10 times the CPU of {@link BcSignatureCheck}. */
    SignatureCheck JDK = Ed25519::verify;

    boolean verify(PublicKey key, byte[] message, byte[] signature);
}
