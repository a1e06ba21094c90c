package app.sevenstamp.autopilot.sink.fleet;

import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.util.Base64;
import javax.crypto.SecretKeyFactory;
import javax.crypto.spec.PBEKeySpec;

/** Device passwords: random, and stored only as salted PBKDF2 hashes. */
final class Passwords {
    private static final int ITERATIONS = 10_000;
    private static final Base64.Encoder B64 = Base64.getUrlEncoder().withoutPadding();

    private Passwords() {
    }

    /** 144 random bits as 24 base64url characters. */
    static String generate(SecureRandom random) {
        byte[] b = new byte[18];
        random.nextBytes(b);
        return B64.encodeToString(b);
    }

    /** {@code pbkdf2$ITER$SALT$HASH}. */
    static String hash(String password, SecureRandom random) {
        byte[] salt = new byte[16];
        random.nextBytes(salt);
        return "pbkdf2$" + ITERATIONS + "$" + B64.encodeToString(salt) + "$" + B64.encodeToString(derive(password, salt, ITERATIONS));
    }

    static boolean matches(String password, String stored) {
        if (password == null || stored == null) {
            return false;
        }
        String[] p = stored.split("\\$");
        if (p.length != 4 || !p[0].equals("pbkdf2")) {
            return false;
        }
        byte[] expected = Base64.getUrlDecoder().decode(p[3]);
        byte[] actual = derive(password, Base64.getUrlDecoder().decode(p[2]), Integer.parseInt(p[1]));
        return MessageDigest.isEqual(expected, actual);
    }

    private static byte[] derive(String password, byte[] salt, int iterations) {
        try {
            PBEKeySpec spec = new PBEKeySpec(password.toCharArray(), salt, iterations, 256);
            return SecretKeyFactory.getInstance("PBKDF2WithHmacSHA256").generateSecret(spec).getEncoded();
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("PBKDF2 is not available", e);
        }
    }
}
