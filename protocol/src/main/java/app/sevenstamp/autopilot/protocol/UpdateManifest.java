package app.sevenstamp.autopilot.protocol;

import app.sevenstamp.autopilot.protocol.support.Ed25519;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.security.PublicKey;
import java.util.Base64;
import java.util.Objects;
import java.util.regex.Pattern;

/**
 * A new gateway version for one box: where its .deb is, its SHA-256 and size, signed by the sink's update key
 * (Ed25519). It travels as the argument of an {@code update} command on {@code PREFIX/gw/{id}/cmd}; the box
 * verifies it against the update key it was installed with ({@code update.trustedKey}) and installs nothing
 * that does not match: another device, another key, another file (docs/updates.md).
 *
 * @param schema    wire schema version
 * @param deviceId  the one box this manifest is for; a box refuses a manifest for another id
 * @param version   the Debian version of the package ({@code 0.2.0}, {@code 1:0.2.0-1}); a box refuses one not
 *                  newer than what it runs
 * @param url       http(s) URL of the .deb
 * @param sha256    lower-case hex SHA-256 of the .deb
 * @param size      the .deb's size in bytes
 * @param signature base64url (no padding) Ed25519 signature of {@link #signedContent()}; null when unsigned
 */
public record UpdateManifest(int schema, String deviceId, String version, String url, String sha256, long size,
        String signature) {
    /** Separates these signatures from every other thing the sink signs. */
    public static final String DOMAIN = "7stamp-update-manifest-v1";
    /** Debian's version characters (policy 5.6.12), bounded. */
    public static final Pattern VERSION = Pattern.compile("([0-9]+:)?[0-9][A-Za-z0-9.+~-]{0,63}");
    static final Pattern SHA256 = Pattern.compile("[0-9a-f]{64}");

    public UpdateManifest {
        Objects.requireNonNull(deviceId, "deviceId");
        Objects.requireNonNull(version, "version");
        Objects.requireNonNull(url, "url");
        Objects.requireNonNull(sha256, "sha256");
        Topics.requireDeviceId(deviceId);
        if (!VERSION.matcher(version).matches()) {
            throw new IllegalArgumentException("version '" + version + "' is not a Debian version (" + VERSION.pattern() + ")");
        }
        if (!(url.startsWith("https://") || url.startsWith("http://")) || url.length() > 2000
                || url.chars().anyMatch(c -> c <= ' ' || c >= 127)) {
            throw new IllegalArgumentException("url must be an http(s) URL of printable ASCII, at most 2000 characters");
        }
        if (!SHA256.matcher(sha256).matches()) {
            throw new IllegalArgumentException("sha256 must be 64 lower-case hex digits");
        }
        if (size <= 0) {
            throw new IllegalArgumentException("size must be > 0, not " + size);
        }
        if (signature != null) {
            byte[] raw;
            try {
                raw = Base64.getUrlDecoder().decode(signature);
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException("signature is not base64url", e);
            }
            if (raw.length != Ed25519.SIGNATURE_BYTES || !base64(raw).equals(signature)) {
                throw new IllegalArgumentException("signature must be the unpadded base64url of " + Ed25519.SIGNATURE_BYTES + " bytes");
            }
        }
    }

    /** This manifest signed with the sink's update key (the 32-byte seed). */
    public UpdateManifest signedWith(byte[] seed) {
        return new UpdateManifest(schema, deviceId, version, url, sha256, size,
                base64(Ed25519.sign(Ed25519.privateKey(seed), signedContent())));
    }

    /** True only for a signature by {@code key} over exactly these fields; false when unsigned or forged. */
    public boolean signedBy(PublicKey key) {
        if (signature == null) {
            return false;
        }
        return Ed25519.verify(key, signedContent(), Base64.getUrlDecoder().decode(signature));
    }

    /**
     * The signed bytes: the domain, schema, device id, version, url, sha256 and size, each as a 4-byte big-endian
     * length and its UTF-8 bytes (no two manifests share a text).
     */
    public byte[] signedContent() {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (String part : new String[] {DOMAIN, Integer.toString(schema), deviceId, version, url, sha256, Long.toString(size)}) {
            byte[] b = part.getBytes(StandardCharsets.UTF_8);
            out.write(b.length >>> 24);
            out.write(b.length >>> 16);
            out.write(b.length >>> 8);
            out.write(b.length);
            out.writeBytes(b);
        }
        return out.toByteArray();
    }

    /** The raw 32-byte public key from its base64url text, as {@code update.trustedKey} holds it. */
    public static PublicKey publicKey(String base64url) {
        byte[] raw;
        try {
            raw = Base64.getUrlDecoder().decode(base64url.trim());
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("not base64url: " + e.getMessage(), e);
        }
        if (raw.length != Ed25519.KEY_BYTES) {
            throw new IllegalArgumentException("an Ed25519 public key is " + Ed25519.KEY_BYTES + " bytes, not " + raw.length);
        }
        return Ed25519.publicKey(raw);
    }

    public static String base64(byte[] b) {
        return Base64.getUrlEncoder().withoutPadding().encodeToString(b);
    }
}
