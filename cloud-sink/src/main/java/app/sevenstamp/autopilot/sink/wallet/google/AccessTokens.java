package app.sevenstamp.autopilot.sink.wallet.google;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;

/**
 * OAuth2 access tokens for the Wallet API, from the service account's JWT grant (RFC 7523): POST to
 * the token URL with {@code grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer} and an RS256
 * assertion ({@code iss} = the service account, {@code scope} = wallet_object.issuer, {@code aud} = the
 * token URL, one hour). A token is kept until {@link #REFRESH_BEFORE} before it expires.
 *
 * <p>Threads: any thread may call {@link #get}. One caller fetches while the others wait for its
 * result; the lock guards only the cached token and the fetch in flight, never the request itself.
 */
final class AccessTokens {
    static final String SCOPE = "https://www.googleapis.com/auth/wallet_object.issuer";
    static final String GRANT_TYPE = "urn:ietf:params:oauth:grant-type:jwt-bearer";
    /** Refreshed this long before expiry, so that a token never expires in the middle of a retried call. */
    static final Duration REFRESH_BEFORE = Duration.ofMinutes(5);
    private static final Duration ASSERTION_LIFETIME = Duration.ofHours(1);
    private static final Duration TIMEOUT = Duration.ofSeconds(10);
    private static final ObjectMapper JSON = new ObjectMapper();

    private record Token(String value, Instant expiresAt) {
    }

    private final ServiceAccount account;
    private final URI tokenUrl;
    private final HttpClient http;
    private final Clock clock;
    private Token current; // guarded by this
    private CompletableFuture<Token> inFlight; // guarded by this

    /** @param tokenUrl where to ask; the key file's token_uri unless a test says otherwise */
    AccessTokens(ServiceAccount account, URI tokenUrl, HttpClient http, Clock clock) {
        this.account = Objects.requireNonNull(account, "account");
        this.tokenUrl = Objects.requireNonNull(tokenUrl, "tokenUrl");
        this.http = Objects.requireNonNull(http, "http");
        this.clock = Objects.requireNonNull(clock, "clock");
    }

    /**
     * A valid token, fetched if none is cached or it expires soon.
     *
     * @throws GoogleWalletException when the token endpoint refuses or does not answer
     */
    String get() {
        CompletableFuture<Token> pending;
        boolean mine = false;
        synchronized (this) {
            if (current != null && clock.instant().isBefore(current.expiresAt.minus(REFRESH_BEFORE))) {
                return current.value;
            }
            if (inFlight == null) {
                inFlight = new CompletableFuture<>();
                mine = true;
            }
            pending = inFlight;
        }
        if (mine) {
            try {
                Token t = fetch();
                synchronized (this) {
                    current = t;
                    inFlight = null;
                }
                pending.complete(t);
            } catch (RuntimeException e) {
                synchronized (this) {
                    inFlight = null;
                }
                pending.completeExceptionally(e);
                throw e;
            }
        }
        try {
            return pending.get().value;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new GoogleWalletException("interrupted while waiting for a Google access token", e);
        } catch (ExecutionException e) {
            throw e.getCause() instanceof GoogleWalletException g ? g
                    : new GoogleWalletException("fetching a Google access token failed: " + e.getCause(), e.getCause());
        }
    }

    /** Forgets the cached token (the API answered 401: revoked or expired early). */
    synchronized void invalidate() {
        current = null;
    }

    private Token fetch() {
        Instant now = clock.instant();
        Map<String, Object> claims = new LinkedHashMap<>();
        claims.put("iss", account.clientEmail());
        claims.put("scope", SCOPE);
        claims.put("aud", tokenUrl.toString());
        claims.put("iat", now.getEpochSecond());
        claims.put("exp", now.plus(ASSERTION_LIFETIME).getEpochSecond());
        String assertion = Jwt.rs256(claims, account.privateKey(), account.privateKeyId());
        String form = "grant_type=" + URLEncoder.encode(GRANT_TYPE, StandardCharsets.UTF_8)
                + "&assertion=" + URLEncoder.encode(assertion, StandardCharsets.UTF_8);
        HttpRequest request = HttpRequest.newBuilder(tokenUrl).timeout(TIMEOUT)
                .header("Content-Type", "application/x-www-form-urlencoded")
                .POST(HttpRequest.BodyPublishers.ofString(form)).build();
        HttpResponse<String> response;
        try {
            response = http.send(request, HttpResponse.BodyHandlers.ofString());
        } catch (IOException e) {
            throw new GoogleWalletException("the token endpoint " + tokenUrl + " did not answer: " + e, e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new GoogleWalletException("interrupted while fetching a Google access token", e);
        }
        JsonNode body = parse(response.body());
        if (response.statusCode() != 200 || body == null || !body.path("access_token").isTextual()) {
            String why = body == null ? abbreviate(response.body())
                    : body.path("error").asText("") + " " + body.path("error_description").asText("");
            throw new GoogleWalletException("the token endpoint " + tokenUrl + " refused the service account "
                    + account.clientEmail() + ": HTTP " + response.statusCode() + " " + why.trim()
                    + "; check that the key in google.serviceAccountFile is current (not deleted in the Cloud console) "
                    + "and the machine's clock is right");
        }
        long seconds = body.path("expires_in").asLong(3600);
        return new Token(body.get("access_token").asText(), clock.instant().plusSeconds(Math.max(0, seconds)));
    }

    private static JsonNode parse(String text) {
        try {
            JsonNode n = JSON.readTree(text);
            return n != null && n.isObject() ? n : null;
        } catch (IOException e) {
            return null;
        }
    }

    static String abbreviate(String s) {
        String one = s == null ? "" : s.replaceAll("\\s+", " ");
        return one.length() > 200 ? one.substring(0, 200) + "..." : one;
    }
}
