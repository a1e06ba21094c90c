package app.sevenstamp.autopilot.protocol;

import app.sevenstamp.autopilot.protocol.support.Ed25519;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.security.PrivateKey;
import java.util.Base64;
import java.util.Objects;

/**
 * An unprovisioned gateway asks for its identity. Published on {@code PREFIX/provision/req/{nonce}}
 * by the shared provisioning account, which may publish there but not subscribe there: only the sink
 * reads requests, so the claim token and the response key stay between the box and the sink.
 *
 * <p>Proof of possession: a box keeps an Ed25519 key pair it made itself and signs the request with
 * it ({@link #signedContent()}); the sink pins the public key to the device at the first provisioning
 * and re-provisions that device only for a request signed by the same key (or once after an operator's
 * approval). A gateway older than the key sends neither field.
 *
 * @param schema      wire schema version
 * @param nonce       random per attempt; the same as in the topic. The sink remembers the nonce of every
 *                    request it granted, so a recorded request cannot be replayed
 * @param claimToken  the claim the installer put on the SD card
 * @param hardwareId  the box's hardware identity (Pi serial number, else /etc/machine-id)
 * @param responseKey base64url of 32 random bytes: the AES-256-GCM key the sink seals the answer with,
 *                    because every holder of the provisioning account may read the response topics
 * @param version     the gateway software version
 * @param publicKey   base64url (no padding) of the box's raw 32-byte Ed25519 public key; null from an old gateway
 * @param signature   base64url (no padding) of the 64-byte Ed25519 signature of {@link #signedContent()} by that
 *                    key; present exactly when publicKey is
 */
public record ProvisionRequest(int schema, String nonce, String claimToken, String hardwareId, String responseKey,
        String version, String publicKey, String signature) {

    /** Separates this signature from any other the key might ever make. */
    private static final String DOMAIN = "7stamp-provision-request-v1";

    public ProvisionRequest {
        Objects.requireNonNull(nonce, "nonce");
        Objects.requireNonNull(claimToken, "claimToken");
        Objects.requireNonNull(hardwareId, "hardwareId");
        Objects.requireNonNull(responseKey, "responseKey");
        if ((publicKey == null) != (signature == null)) {
            throw new IllegalArgumentException("publicKey and signature come together: a signed request has both, "
                    + "an old gateway's neither");
        }
        if (publicKey != null) {
            requireCanonical("publicKey", publicKey, Ed25519.KEY_BYTES);
            requireCanonical("signature", signature, Ed25519.SIGNATURE_BYTES);
        }
    }

    /** This request signed with the box's private key (the 32-byte seed); the public key goes with it. */
    public ProvisionRequest signedWith(byte[] privateKeySeed) {
        String pub = base64(Ed25519.publicKeyOf(privateKeySeed));
        byte[] content = content(pub);
        PrivateKey key = Ed25519.privateKey(privateKeySeed);
        return new ProvisionRequest(schema, nonce, claimToken, hardwareId, responseKey, version, pub,
                base64(Ed25519.sign(key, content)));
    }

    /** True when the request carries a key and its signature by that key; false for an unsigned or a forged one. */
    public boolean signatureValid() {
        if (publicKey == null) {
            return false;
        }
        try {
            return Ed25519.verify(Ed25519.publicKey(Base64.getUrlDecoder().decode(publicKey)), signedContent(),
                    Base64.getUrlDecoder().decode(signature));
        } catch (IllegalArgumentException e) {
            return false;
        }
    }

    /**
     * The bytes the box signs: a domain string, then schema, nonce, claim token, hardware id, response key,
     * version (empty when absent) and public key, each as a 4-byte big-endian length and its UTF-8 bytes, so
     * that no two requests share a text. Everything the sink acts on is inside: changing any of it, or
     * putting another key in, breaks the signature.
     */
    public byte[] signedContent() {
        if (publicKey == null) {
            throw new IllegalStateException("an unsigned request has no signed content");
        }
        return content(publicKey);
    }

    private byte[] content(String pub) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (String part : new String[] {DOMAIN, Integer.toString(schema), nonce, claimToken, hardwareId, responseKey,
                version == null ? "" : version, pub}) {
            byte[] b = part.getBytes(StandardCharsets.UTF_8);
            out.write(b.length >>> 24);
            out.write(b.length >>> 16);
            out.write(b.length >>> 8);
            out.write(b.length);
            out.writeBytes(b);
        }
        return out.toByteArray();
    }

    /**
     * The one client id the provisioning account connects with. Mosquitto's dynamic security cannot
     * match a login's client ids by prefix, and MQTT ends the session of any client whose id another
     * presents; so the sink binds the public account to this id, and it can take over no one else.
     * Boxes provisioning at the same moment take it from each other: the Provisioner tries again.
     */
    public static String clientId(String provisionUsername) {
        return "prov-" + provisionUsername;
    }

    private static String base64(byte[] b) {
        return Base64.getUrlEncoder().withoutPadding().encodeToString(b);
    }

    /** One text per key: base64url without padding, and the unused low bits of the last character zero. */
    private static void requireCanonical(String field, String text, int bytes) {
        byte[] raw;
        try {
            raw = Base64.getUrlDecoder().decode(text);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(field + " is not base64url: " + e.getMessage(), e);
        }
        if (raw.length != bytes || !base64(raw).equals(text)) {
            throw new IllegalArgumentException(field + " must be the unpadded base64url of " + bytes + " bytes");
        }
    }

    /** Never prints the claim token or the key. */
    @Override
    public String toString() {
        return "ProvisionRequest[nonce=" + nonce + ", hardwareId=" + hardwareId + ", version=" + version
                + ", publicKey=" + (publicKey == null ? "none" : publicKey) + "]";
    }
}
