package app.sevenstamp.autopilot.gateway.fleet;

import app.sevenstamp.autopilot.protocol.support.Ed25519;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.util.Base64;
import java.util.Optional;
import java.util.Properties;
import org.tinylog.Logger;

/**
 * The box's own Ed25519 key pair, made on the box at its first start with a claim and kept in the state
 * directory ({@value StateFiles#DEVICE_KEY}, mode 600, replaced atomically and synced, directory included).
 * The private key never leaves the box: provisioning requests carry the public key and a signature, and the
 * sink pins the public key to the device, so that re-provisioning the box takes this key (proof of
 * possession) and not a claim and a hardware id, which are printed on the box and in its logs.
 *
 * <p>Losing the file (a new SD card) means an operator's approval for the next provisioning.
 */
public final class DeviceKey {
    static final String PRIVATE = "ed25519.privateKey";
    static final String PUBLIC = "ed25519.publicKey";

    private DeviceKey() {
    }

    /**
     * The private key's 32-byte seed: the stored one, or a new one written before it is returned (so that a
     * request is never signed with a key the box could lose in a power cut right after).
     *
     * @throws IllegalStateException the file exists but does not hold a key pair that belongs together
     */
    public static byte[] loadOrCreate(Path stateDir, SecureRandom random) {
        Optional<Properties> stored = StateFiles.read(stateDir, StateFiles.DEVICE_KEY);
        if (stored.isPresent()) {
            return check(stateDir, stored.get());
        }
        byte[] seed = Ed25519.newSeed(random);
        Properties p = new Properties();
        p.setProperty(PRIVATE, text(seed));
        p.setProperty(PUBLIC, text(Ed25519.publicKeyOf(seed)));
        StateFiles.write(stateDir, StateFiles.DEVICE_KEY, p);
        Logger.info("device key made and stored in {} (public key {}); the sink pins it at provisioning",
                stateDir.resolve(StateFiles.DEVICE_KEY), p.getProperty(PUBLIC));
        return seed;
    }

    private static byte[] check(Path stateDir, Properties p) {
        Path file = stateDir.resolve(StateFiles.DEVICE_KEY);
        byte[] seed;
        try {
            seed = Base64.getUrlDecoder().decode(p.getProperty(PRIVATE, ""));
        } catch (IllegalArgumentException e) {
            seed = new byte[0];
        }
        if (seed.length != Ed25519.KEY_BYTES
                || !text(Ed25519.publicKeyOf(seed)).equals(p.getProperty(PUBLIC, ""))) {
            throw new IllegalStateException(file + " does not hold this box's key pair (" + PRIVATE + " must be the "
                    + "base64url of 32 bytes and " + PUBLIC + " its public key). Do not edit it; if it is lost, move it "
                    + "away: the box makes a new one, and an operator approves its next provisioning (devices approve ID)");
        }
        return seed;
    }

    private static String text(byte[] b) {
        return Base64.getUrlEncoder().withoutPadding().encodeToString(b);
    }
}
