package app.sevenstamp.autopilot.sink.cards;

import app.sevenstamp.autopilot.protocol.card.SignatureCheck;
import app.sevenstamp.autopilot.protocol.support.Ed25519;
import java.security.PublicKey;
import java.util.Arrays;

/**
 * Ed25519 verification with Bouncy Castle's RFC 8032 code (bcprov, already in the sink for the
 * wallet) instead of the JDK's: the same check, about 4 to 6 times less CPU per signature on this
 * JDK 17 (0.38 against 2.4 ms, warm, on the shared 2-CPU VM; docs/perf/sink-ingest.md). It was the
 * largest single cost of the ingest thread on H2 (28 % of its samples in scripts/bench-sink), paid once
 * per card code new to the process. Like the JDK it rejects a non-canonical S and a malformed point;
 * {@code BcSignatureCheckTest} holds the two to the same answers. Stateless and thread-safe.
 */
final class BcSignatureCheck implements SignatureCheck {
    public static final BcSignatureCheck INSTANCE = new BcSignatureCheck();

    private BcSignatureCheck() {
    }

    @Override
    public boolean verify(PublicKey key, byte[] message, byte[] signature) {
        if (signature == null || signature.length != Ed25519.SIGNATURE_BYTES || message == null) {
            return false;
        }
        byte[] encoded = key.getEncoded(); // X.509: a fixed 12-byte header, then the raw 32-byte key
        if (encoded == null || encoded.length < Ed25519.KEY_BYTES) {
            return false;
        }
        byte[] raw = Arrays.copyOfRange(encoded, encoded.length - Ed25519.KEY_BYTES, encoded.length);
        try {
            return org.bouncycastle.math.ec.rfc8032.Ed25519.verify(signature, 0, raw, 0, message, 0, message.length);
        } catch (RuntimeException e) {
            return false; // a check that cannot be made is a bad signature, as with the JDK's
        }
    }
}
