package app.sevenstamp.autopilot.sink.join;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.SecureRandom;
import java.util.Base64;
import java.util.HexFormat;
import java.util.regex.Pattern;

/**
 * The secret of a web card link. A card id is no secret (it is printed inside the card code and in
 * the card page's address), so the page that shows the scannable code, and its QR image, need a second
 * part only the joiner got: 128 random bits. The store keeps its SHA-256 only, so a copy of the
 * database does not hand out links.
 */
final class CardLinks {
    /** 22 base64url characters: 128 bits. */
    public static final Pattern TOKEN = Pattern.compile("[A-Za-z0-9_-]{22}");

    private CardLinks() {
    }

    public static String newToken(SecureRandom random) {
        byte[] b = new byte[16];
        random.nextBytes(b);
        return Base64.getUrlEncoder().withoutPadding().encodeToString(b);
    }

    /** Lower-case hex SHA-256 of the token's text. */
    public static String hash(String token) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(token.getBytes(StandardCharsets.US_ASCII)));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("every JVM has SHA-256", e);
        }
    }

    /** True when {@code token} is the one whose hash is {@code storedHash}; compared in constant time. */
    static boolean matches(String token, String storedHash) {
        if (token == null || storedHash == null || !TOKEN.matcher(token).matches()) {
            return false;
        }
        return MessageDigest.isEqual(hash(token).getBytes(StandardCharsets.US_ASCII),
                storedHash.getBytes(StandardCharsets.US_ASCII));
    }

    /** The web card's path: {@code /cards/<cardId>/w/<token>}. */
    public static String webCardPath(String cardId, String token) {
        return "/cards/" + cardId + "/w/" + token;
    }
}
