package app.sevenstamp.autopilot.sink.console;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.util.Base64;
import java.util.concurrent.Semaphore;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.bouncycastle.crypto.generators.Argon2BytesGenerator;
import org.bouncycastle.crypto.params.Argon2Parameters;

/**
 * Console passwords, hashed with Argon2id (RFC 9106) through BouncyCastle and stored in the PHC
 * string format: {@code $argon2id$v=19$m=19456,t=2,p=1$<salt>$<hash>}. The cost is OWASP's
 * recommended minimum for Argon2id (19 MiB of memory, two passes, one lane); a stored hash keeps its
 * own parameters, so raising the cost later leaves old hashes verifiable.
 *
 * <p>Each hash takes 19 MiB of heap while it runs: at most two run at once, so a flood of logins
 * waits its turn instead of taking the sink's memory.
 */
final class PasswordHash {
    static final int MEMORY_KIB = 19_456;
    static final int PASSES = 2;
    static final int LANES = 1;
    private static final int SALT_BYTES = 16;
    private static final int HASH_BYTES = 32;
    private static final Pattern PHC = Pattern.compile(
            "\\$argon2id\\$v=19\\$m=(\\d{1,7}),t=(\\d{1,2}),p=(\\d{1,2})\\$([A-Za-z0-9+/]{16,64})\\$([A-Za-z0-9+/]{32,128})");
    private static final Semaphore RUNNING = new Semaphore(2, true);
    private static final Base64.Encoder B64 = Base64.getEncoder().withoutPadding();
    private static final Base64.Decoder B64D = Base64.getDecoder();
    /** Verified when the name is unknown, so that an unknown name takes as long as a wrong password. */
    private static final String DECOY = hash("decoy password that matches nothing", new SecureRandom());

    private PasswordHash() {
    }

    public static String hash(String password, SecureRandom random) {
        byte[] salt = new byte[SALT_BYTES];
        random.nextBytes(salt);
        byte[] out = argon2(password, salt, MEMORY_KIB, PASSES, LANES);
        return "$argon2id$v=19$m=" + MEMORY_KIB + ",t=" + PASSES + ",p=" + LANES + "$" + B64.encodeToString(salt) + "$"
                + B64.encodeToString(out);
    }

    /** Whether the password matches the stored hash; a null hash (an unknown name) costs as much and is false. */
    public static boolean verify(String password, String stored) {
        Matcher m = PHC.matcher(stored == null ? DECOY : stored);
        if (!m.matches()) {
            return false;
        }
        int memory = Integer.parseInt(m.group(1));
        int passes = Integer.parseInt(m.group(2));
        int lanes = Integer.parseInt(m.group(3));
        if (memory < 8 * lanes || memory > 1_048_576 || passes < 1 || lanes < 1) {
            return false; // a hash this code never wrote; refuse rather than run it
        }
        byte[] expected = B64D.decode(m.group(5));
        byte[] actual = argon2(password, B64D.decode(m.group(4)), memory, passes, lanes, expected.length);
        return MessageDigest.isEqual(expected, actual) && stored != null;
    }

    private static byte[] argon2(String password, byte[] salt, int memory, int passes, int lanes) {
        return argon2(password, salt, memory, passes, lanes, HASH_BYTES);
    }

    private static byte[] argon2(String password, byte[] salt, int memory, int passes, int lanes, int length) {
        Argon2Parameters params = new Argon2Parameters.Builder(Argon2Parameters.ARGON2_id)
                .withVersion(Argon2Parameters.ARGON2_VERSION_13).withMemoryAsKB(memory).withIterations(passes)
                .withParallelism(lanes).withSalt(salt).build();
        Argon2BytesGenerator generator = new Argon2BytesGenerator();
        generator.init(params);
        byte[] out = new byte[length];
        RUNNING.acquireUninterruptibly();
        try {
            generator.generateBytes(password.getBytes(StandardCharsets.UTF_8), out);
        } finally {
            RUNNING.release();
        }
        return out;
    }
}
