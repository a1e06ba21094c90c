package app.sevenstamp.autopilot.protocol.card;

import app.sevenstamp.autopilot.protocol.support.Ed25519;
import java.security.PublicKey;

/**
 * The Ed25519 verification a {@link CardVerifier} uses. The JDK's own ({@link #JDK}) is the default
 * and all the box needs; the sink, which verifies a card code for every customer new to the process,
 * plugs in a faster implementation of the same RFC 8032 check. Must be thread-safe and never throw:
 * a signature that cannot be checked is a bad one.
 */
@FunctionalInterface
public interface SignatureCheck {
    /** The JDK's provider (SunEC). */
    SignatureCheck JDK = Ed25519::verify;

    boolean verify(PublicKey key, byte[] message, byte[] signature);
}
