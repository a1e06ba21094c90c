package app.sevenstamp.autopilot.protocol;

import java.security.GeneralSecurityException;
import java.security.SecureRandom;
import java.util.Base64;
import javax.crypto.Cipher;
import javax.crypto.spec.GCMParameterSpec;
import javax.crypto.spec.SecretKeySpec;

/**
 * AES-256-GCM for the provisioning grant: the box sends a fresh key inside its request (readable only
 * by the sink), the sink seals the credentials with it. The nonce is the associated data, so a sealed
 * grant cannot be replayed as the answer to another request.
 */
public final class ProvisionSeal {
    private static final int IV_BYTES = 12;
    private static final int TAG_BITS = 128;

    private ProvisionSeal() {
    }

    /** A new random key, base64url without padding. */
    public static String newKey(SecureRandom random) {
        byte[] key = new byte[32];
        random.nextBytes(key);
        return Base64.getUrlEncoder().withoutPadding().encodeToString(key);
    }

    public static String seal(String key, String nonce, byte[] plain, SecureRandom random) {
        byte[] iv = new byte[IV_BYTES];
        random.nextBytes(iv);
        try {
            Cipher c = cipher(Cipher.ENCRYPT_MODE, key, iv);
            c.updateAAD(nonce.getBytes(java.nio.charset.StandardCharsets.US_ASCII));
            byte[] sealed = c.doFinal(plain);
            byte[] out = new byte[IV_BYTES + sealed.length];
            System.arraycopy(iv, 0, out, 0, IV_BYTES);
            System.arraycopy(sealed, 0, out, IV_BYTES, sealed.length);
            return Base64.getUrlEncoder().withoutPadding().encodeToString(out);
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("AES-GCM is not available", e);
        }
    }

    /** @throws MalformedMessageException when the key is wrong or the text was changed */
    public static byte[] open(String key, String nonce, String sealed) throws MalformedMessageException {
        try {
            byte[] all = Base64.getUrlDecoder().decode(sealed);
            if (all.length <= IV_BYTES) {
                throw new MalformedMessageException("sealed", "sealed grant too short", null);
            }
            byte[] iv = java.util.Arrays.copyOf(all, IV_BYTES);
            Cipher c = cipher(Cipher.DECRYPT_MODE, key, iv);
            c.updateAAD(nonce.getBytes(java.nio.charset.StandardCharsets.US_ASCII));
            return c.doFinal(all, IV_BYTES, all.length - IV_BYTES);
        } catch (GeneralSecurityException | IllegalArgumentException e) {
            throw new MalformedMessageException("sealed", "cannot open the sealed grant: " + e.getMessage(), e);
        }
    }

    private static Cipher cipher(int mode, String key, byte[] iv) throws GeneralSecurityException {
        byte[] k = Base64.getUrlDecoder().decode(key);
        if (k.length != 32) {
            throw new GeneralSecurityException("the response key must be 32 bytes, not " + k.length);
        }
        Cipher c = Cipher.getInstance("AES/GCM/NoPadding");
        c.init(mode, new SecretKeySpec(k, "AES"), new GCMParameterSpec(TAG_BITS, iv));
        return c;
    }
}
