package app.sevenstamp.autopilot.sink.wallet.google;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.PrivateKey;
import java.security.Signature;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.Map;

/** Compact JWS with RS256 (RSASSA-PKCS1-v1_5 with SHA-256), the only algorithm Google takes from a service account. */
final class Jwt {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Base64.Encoder B64 = Base64.getUrlEncoder().withoutPadding();

    private Jwt() {
    }

    /** @param keyId the service account's private_key_id (the {@code kid} header), or null */
    static String rs256(Map<String, ?> claims, PrivateKey key, String keyId) {
        Map<String, Object> header = new LinkedHashMap<>();
        header.put("alg", "RS256");
        header.put("typ", "JWT");
        if (keyId != null) {
            header.put("kid", keyId);
        }
        try {
            String signingInput = B64.encodeToString(JSON.writeValueAsBytes(header)) + "."
                    + B64.encodeToString(JSON.writeValueAsBytes(claims));
            Signature rsa = Signature.getInstance("SHA256withRSA");
            rsa.initSign(key);
            rsa.update(signingInput.getBytes(StandardCharsets.US_ASCII));
            return signingInput + "." + B64.encodeToString(rsa.sign());
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("claims of strings, numbers and lists are JSON", e);
        } catch (GeneralSecurityException e) {
            throw new GoogleWalletException("signing a JWT with the service account's key failed: " + e.getMessage(), e);
        }
    }
}
