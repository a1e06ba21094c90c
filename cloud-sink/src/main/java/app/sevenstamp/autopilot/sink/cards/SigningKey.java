package app.sevenstamp.autopilot.sink.cards;

import app.sevenstamp.autopilot.protocol.card.CardCode;
import app.sevenstamp.autopilot.protocol.card.CardSigner;
import app.sevenstamp.autopilot.protocol.card.CardVerifier;
import app.sevenstamp.autopilot.protocol.support.Ed25519;
import app.sevenstamp.autopilot.protocol.support.ConfigException;
import java.io.IOException;
import java.io.Reader;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFileAttributeView;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.SecureRandom;
import java.util.Base64;
import java.util.Map;
import java.util.Properties;
import java.util.Set;

/**
 * The sink's card signing key, kept in a small properties file:
 * <pre>
 * keyId=k1
 * seed=&lt;the 32-byte Ed25519 seed in base64url&gt;
 * </pre>
 * Created on first use with mode 600. Whoever holds the file can mint cards, and losing it means
 * no new card can be issued under its key id, so the sink never overwrites it: creation writes a
 * temporary file and links it into place, which fails if another process created the key first.
 */
public final class SigningKey {
    private static final Set<PosixFilePermission> OWNER_ONLY = PosixFilePermissions.fromString("rw-------");

    private final String keyId;
    private final byte[] seed;
    private final byte[] publicKey;

    private SigningKey(String keyId, byte[] seed) {
        this.keyId = keyId;
        this.seed = seed.clone();
        this.publicKey = Ed25519.publicKeyOf(seed);
    }

    /**
     * Reads the key file, or creates it with a new random key under {@code keyId}.
     *
     * @throws ConfigException when the file exists but is not a key file, or holds another key id
     * @throws UncheckedIOException when the file cannot be read or written
     */
    public static SigningKey loadOrCreate(Path file, String keyId) {
        if (!Files.exists(file)) {
            create(file, keyId, Ed25519.newSeed(new SecureRandom()));
        }
        SigningKey key = read(file);
        if (!key.keyId.equals(keyId)) {
            throw new ConfigException("keys.id: '" + keyId + "' does not match key id '" + key.keyId + "' in " + file
                    + "; set keys.id=" + key.keyId + ", or point keys.file at another file to start a new key");
        }
        warnIfOthersCanRead(file);
        return key;
    }

    public String keyId() {
        return keyId;
    }

    public CardSigner signer() {
        return new CardSigner(keyId, seed);
    }

    /** A verifier that trusts exactly this key: what the sink checks incoming card codes with. */
    public CardVerifier verifier() {
        return new CardVerifier(Map.of(keyId, publicKey));
    }

    /**
     * A secret for another purpose, derived from this key ({@code HMAC-SHA256(seed, purpose)}), so that
     * links the sink signs (the Google Wallet save route's tokens, the join form's tokens) need no second key file to back up.
     * Different purposes give unrelated keys; the seed cannot be learned from one.
     */
    public byte[] derivedKey(String purpose) {
        try {
            javax.crypto.Mac mac = javax.crypto.Mac.getInstance("HmacSHA256");
            mac.init(new javax.crypto.spec.SecretKeySpec(seed, "HmacSHA256"));
            return mac.doFinal(purpose.getBytes(StandardCharsets.UTF_8));
        } catch (java.security.GeneralSecurityException e) {
            throw new IllegalStateException("HmacSHA256 is in every JDK", e);
        }
    }

    /** {@code keyId:publicKey}, the line gateways put into {@code cards.trustedKeys}. */
    public String trustedKeyLine() {
        return CardVerifier.formatPublicKey(keyId, publicKey);
    }

    private static SigningKey read(Path file) {
        Properties p = new Properties();
        try (Reader reader = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
            p.load(reader);
        } catch (IOException e) {
            throw new UncheckedIOException("keys.file " + file + " cannot be read: " + e.getMessage(), e);
        }
        String keyId = p.getProperty("keyId", "").trim();
        String seedText = p.getProperty("seed", "").trim();
        if (!CardCode.KEY_ID.matcher(keyId).matches()) {
            throw new ConfigException("keys.file: " + file + " is not a signing key file: keyId '" + keyId
                    + "' must match " + CardCode.KEY_ID.pattern());
        }
        byte[] seed;
        try {
            seed = Base64.getUrlDecoder().decode(seedText);
        } catch (IllegalArgumentException e) {
            seed = new byte[0];
        }
        if (seed.length != Ed25519.KEY_BYTES) {
            throw new ConfigException("keys.file: " + file + " is not a signing key file: seed must be "
                    + Ed25519.KEY_BYTES + " bytes in base64url");
        }
        return new SigningKey(keyId, seed);
    }

    private static void create(Path file, String keyId, byte[] seed) {
        String text = "# 7stamp Autopilot card signing key. Secret: whoever holds it can mint loyalty cards.\n"
                + "# Back it up; without it no new card can be issued under key id " + keyId + ".\n"
                + "keyId=" + keyId + "\n"
                + "seed=" + Base64.getUrlEncoder().withoutPadding().encodeToString(seed) + "\n";
        Path dir = file.toAbsolutePath().getParent();
        Path tmp = null;
        try {
            Files.createDirectories(dir);
            // createTempFile makes the file rw------- on POSIX file systems before a byte is written.
            tmp = Files.createTempFile(dir, ".signing-", ".tmp");
            try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.WRITE)) {
                ch.write(ByteBuffer.wrap(text.getBytes(StandardCharsets.UTF_8)));
                ch.force(true);
            }
            try {
                Files.createLink(file, tmp);
            } catch (UnsupportedOperationException | FileSystemException e) {
                if (e instanceof FileAlreadyExistsException) {
                    throw (FileAlreadyExistsException) e;
                }
                Files.move(tmp, file); // no hard links here; without REPLACE_EXISTING this still never overwrites
            }
            org.tinylog.Logger.info("created a new card signing key '{}' in {}", keyId, file);
        } catch (FileAlreadyExistsException e) {
            org.tinylog.Logger.debug("another process created {} first; using that key", file);
        } catch (IOException e) {
            throw new UncheckedIOException("keys.file " + file + " cannot be created: " + e.getMessage(), e);
        } finally {
            if (tmp != null) {
                try {
                    Files.deleteIfExists(tmp);
                } catch (IOException e) {
                    org.tinylog.Logger.warn("cannot delete the temporary key file {}: {}", tmp, e.getMessage());
                }
            }
        }
    }

    private static void warnIfOthersCanRead(Path file) {
        PosixFileAttributeView view = Files.getFileAttributeView(file, PosixFileAttributeView.class);
        if (view == null) {
            return;
        }
        try {
            Set<PosixFilePermission> perms = view.readAttributes().permissions();
            if (!OWNER_ONLY.containsAll(perms)) {
                org.tinylog.Logger.warn("keys.file {} has mode {}; anyone who can read it can mint cards: chmod 600 {}",
                        file, PosixFilePermissions.toString(perms), file);
            }
        } catch (IOException e) {
            org.tinylog.Logger.debug("cannot read the permissions of {}: {}", file, e.getMessage());
        }
    }
}
