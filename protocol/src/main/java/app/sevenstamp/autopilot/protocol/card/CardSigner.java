package app.sevenstamp.autopilot.protocol.card;

import app.sevenstamp.autopilot.protocol.support.Ed25519;
import java.security.PrivateKey;
import java.security.SecureRandom;
import java.util.Base64;

/** Mints card codes. Lives only in the sink: a gateway holds public keys and cannot mint cards. */
public final class CardSigner {
    private static final char[] BASE32 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567".toCharArray();

    private final String keyId;
    private final PrivateKey key;

    public CardSigner(String keyId, byte[] seed) {
        if (keyId == null || !CardCode.KEY_ID.matcher(keyId).matches()) {
            throw new IllegalArgumentException("key id '" + keyId + "' must match " + CardCode.KEY_ID.pattern());
        }
        this.keyId = keyId;
        this.key = Ed25519.privateKey(seed);
    }

    public String keyId() {
        return keyId;
    }

    /** A new card id: 80 random bits in base32, 16 characters. */
    public static String newCardId(SecureRandom random) {
        byte[] bytes = new byte[10];
        random.nextBytes(bytes);
        StringBuilder id = new StringBuilder(16);
        int buffer = 0;
        int bits = 0;
        for (byte b : bytes) {
            buffer = (buffer << 8) | (b & 0xFF);
            bits += 8;
            while (bits >= 5) {
                id.append(BASE32[(buffer >>> (bits - 5)) & 31]);
                bits -= 5;
            }
        }
        return id.toString();
    }

    /** The text to put into the barcode. */
    public String sign(String programId, String cardId) {
        CardCode code = new CardCode(keyId, programId, cardId);
        byte[] signature = Ed25519.sign(key, code.signedPart());
        return new String(code.signedPart(), java.nio.charset.StandardCharsets.US_ASCII) + "."
                + Base64.getUrlEncoder().withoutPadding().encodeToString(signature);
    }
}
