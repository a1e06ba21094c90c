package app.sevenstamp.autopilot.sink.wallet.google;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.PrivateKey;
import java.security.interfaces.RSAPrivateKey;
import java.security.spec.PKCS8EncodedKeySpec;
import java.util.Base64;
import java.util.Objects;

/**
 * A Google Cloud service account key file (the JSON the Cloud console downloads): who signs
 * ({@code client_email}), with what ({@code private_key}, an RSA key as PKCS#8 PEM, and its
 * {@code private_key_id}), and where tokens come from ({@code token_uri}).
 */
record ServiceAccount(String clientEmail, String privateKeyId, RSAPrivateKey privateKey, URI tokenUri) {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final URI GOOGLE_TOKEN_URI = URI.create("https://oauth2.googleapis.com/token");
    private static final long MAX_FILE_BYTES = 64 * 1024;

    public ServiceAccount {
        Objects.requireNonNull(clientEmail, "clientEmail");
        Objects.requireNonNull(privateKey, "privateKey");
        Objects.requireNonNull(tokenUri, "tokenUri");
    }

    /**
     * Reads and checks a key file.
     *
     * @throws GoogleWalletException naming the file and what is wrong with it
     */
    public static ServiceAccount load(Path file) {
        JsonNode n;
        try {
            if (Files.size(file) > MAX_FILE_BYTES) {
                throw new GoogleWalletException(file + ": " + Files.size(file) + " bytes; a service account key file has a few KB");
            }
            n = JSON.readTree(Files.readAllBytes(file));
        } catch (NoSuchFileException e) {
            throw new GoogleWalletException(file + ": no such file; download a JSON key of the service account "
                    + "(Cloud console, IAM, Service accounts, Keys, Add key, JSON) and set google.serviceAccountFile to it");
        } catch (IOException e) {
            throw new GoogleWalletException(file + ": cannot be read (" + e.getMessage() + ")");
        }
        if (n == null || !n.isObject()) {
            throw new GoogleWalletException(file + ": not a JSON object; expected a service account key file");
        }
        if (!"service_account".equals(n.path("type").asText())) {
            throw new GoogleWalletException(file + ": \"type\" is '" + n.path("type").asText() + "', not 'service_account'; "
                    + "expected the JSON key of a service account, not an OAuth client or user credential");
        }
        String email = text(n, "client_email", file);
        String pem = text(n, "private_key", file);
        String kid = n.path("private_key_id").isTextual() ? n.get("private_key_id").asText() : null;
        URI tokenUri = n.path("token_uri").isTextual() ? URI.create(n.get("token_uri").asText()) : GOOGLE_TOKEN_URI;
        return new ServiceAccount(email, kid, parsePrivateKey(pem, file), tokenUri);
    }

    /** A PKCS#8 PEM ({@code -----BEGIN PRIVATE KEY-----}) RSA private key. */
    static RSAPrivateKey parsePrivateKey(String pem, Object source) {
        String begin = "-----BEGIN PRIVATE KEY-----";
        String end = "-----END PRIVATE KEY-----";
        int b = pem.indexOf(begin);
        int e = pem.indexOf(end);
        if (b < 0 || e < b) {
            throw new GoogleWalletException(source + ": private_key is not a PKCS#8 PEM key (no " + begin + " ... " + end + ")");
        }
        try {
            byte[] der = Base64.getMimeDecoder().decode(pem.substring(b + begin.length(), e));
            PrivateKey key = KeyFactory.getInstance("RSA").generatePrivate(new PKCS8EncodedKeySpec(der));
            return (RSAPrivateKey) key;
        } catch (IllegalArgumentException | GeneralSecurityException | ClassCastException x) {
            throw new GoogleWalletException(source + ": private_key does not parse as an RSA key (" + x.getMessage() + ")");
        }
    }

    private static String text(JsonNode n, String field, Path file) {
        JsonNode v = n.get(field);
        if (v == null || !v.isTextual() || v.asText().isEmpty()) {
            throw new GoogleWalletException(file + ": \"" + field + "\" is missing; expected a service account key file");
        }
        return v.asText();
    }

    /** Never prints the key. */
    @Override
    public String toString() {
        return "ServiceAccount[" + clientEmail + ", key " + privateKeyId + "]";
    }
}
