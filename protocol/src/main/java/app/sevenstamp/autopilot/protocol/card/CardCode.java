package app.sevenstamp.autopilot.protocol.card;

import app.sevenstamp.autopilot.protocol.StampEvent;
import java.nio.charset.StandardCharsets;
import java.util.regex.Pattern;

/**
 * A wallet card's barcode content: {@code 7S1.<keyId>.<programId>.<cardId>.<signature>}.
 *
 * <p>Printable ASCII only, at most {@value #MAX_LENGTH} characters, so it fits a QR, PDF417, Aztec or
 * Code128 barcode and survives scanners in any keyboard layout that types ASCII. The signature is
 * Ed25519 over the text before the last dot, in base64url without padding (86 characters).
 *
 * @param keyId     which of the sink's signing keys made the signature
 * @param programId the loyalty program
 * @param cardId    the card, unique across programs
 */
public record CardCode(String keyId, String programId, String cardId) {
    public static final String MAGIC = "7S1";
    public static final int MAX_LENGTH = StampEvent.MAX_CARD_CODE;
    public static final Pattern KEY_ID = Pattern.compile("[A-Za-z0-9]{1,8}");
    public static final Pattern PROGRAM_ID = Pattern.compile("[a-z0-9][a-z0-9-]{0,23}");
    public static final Pattern CARD_ID = Pattern.compile("[A-Z2-7]{8,26}");

    public CardCode {
        check(KEY_ID, keyId, "key id");
        check(PROGRAM_ID, programId, "program id");
        check(CARD_ID, cardId, "card id");
    }

    /** The bytes the signature covers. */
    byte[] signedPart() {
        return (MAGIC + "." + keyId + "." + programId + "." + cardId).getBytes(StandardCharsets.US_ASCII);
    }

    private static void check(Pattern pattern, String value, String what) {
        if (value == null || !pattern.matcher(value).matches()) {
            throw new IllegalArgumentException(what + " '" + value + "' must match " + pattern.pattern());
        }
    }
}
