package app.sevenstamp.autopilot.sink.wallet.google;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.PublicKey;
import java.security.Signature;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Deque;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Google for the tests, on a real HTTP server on port 0: the OAuth2 token endpoint, which VERIFIES
 * the JWT grant's RS256 signature with the service account's public key and checks its claims, and
 * the Wallet API's loyaltyClass and loyaltyObject resources (GET, POST insert with 409 for a
 * duplicate, PATCH merging top-level fields, 404 for an unknown id), which take only tokens it issued.
 * Every API request is recorded with its arrival time; failures can be scripted ahead.
 */
final class FakeGoogle implements AutoCloseable {
    static final ObjectMapper JSON = new ObjectMapper();
    static final String EMAIL = "sink@test-project.iam.gserviceaccount.com";

    /** One API request as it arrived. */
    record Call(String method, String path, JsonNode body, long nanos) {
    }

    /** A scripted answer for the next API request whose method matches. */
    record Scripted(String method, int status, String retryAfter) {
    }

    final KeyPair keys;
    private final HttpServer server;
    final List<Call> calls = new ArrayList<>(); // guarded by itself
    final List<JsonNode> grants = new ArrayList<>(); // guarded by itself: the claims of every accepted assertion
    final AtomicInteger tokenRequests = new AtomicInteger();
    final Map<String, ObjectNode> classes = new ConcurrentHashMap<>();
    final Map<String, ObjectNode> objects = new ConcurrentHashMap<>();
    private final Deque<Scripted> script = new ArrayDeque<>(); // guarded by itself
    private final Set<String> issued = ConcurrentHashMap.newKeySet();
    volatile long expiresIn = 3600;
    volatile int tokenStatus = 200;
    /** How long the token endpoint takes to answer. */
    volatile long tokenDelayMillis;

    FakeGoogle() throws Exception {
        KeyPairGenerator g = KeyPairGenerator.getInstance("RSA");
        g.initialize(2048);
        keys = g.generateKeyPair();
        server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        server.setExecutor(Executors.newFixedThreadPool(16));
        server.createContext("/token", this::token);
        server.createContext("/walletobjects/v1/", this::api);
        server.start();
    }

    URI base() {
        return URI.create("http://127.0.0.1:" + server.getAddress().getPort());
    }

    URI tokenUrl() {
        return base().resolve("/token");
    }

    /** A service account key file with this fake's key pair (or another one, to be refused). */
    Path writeServiceAccount(Path dir, KeyPair pair) throws IOException {
        String pem = "-----BEGIN PRIVATE KEY-----\n"
                + Base64.getMimeEncoder(64, "\n".getBytes(StandardCharsets.US_ASCII)).encodeToString(pair.getPrivate().getEncoded())
                + "\n-----END PRIVATE KEY-----\n";
        ObjectNode n = JSON.createObjectNode();
        n.put("type", "service_account");
        n.put("project_id", "test-project");
        n.put("private_key_id", "kid-1");
        n.put("private_key", pem);
        n.put("client_email", EMAIL);
        n.put("token_uri", tokenUrl().toString());
        Path file = dir.resolve("service-account.json");
        Files.writeString(file, JSON.writerWithDefaultPrettyPrinter().writeValueAsString(n));
        return file;
    }

    void script(String method, int status, String retryAfter) {
        synchronized (script) {
            script.add(new Scripted(method, status, retryAfter));
        }
    }

    List<Call> calls() {
        synchronized (calls) {
            return List.copyOf(calls);
        }
    }

    List<Call> calls(String method, String pathPart) {
        return calls().stream().filter(c -> c.method.equals(method) && c.path.contains(pathPart)).toList();
    }

    /** Verifies an RS256 compact JWS with the given key and returns its claims, or null if the signature is bad. */
    static JsonNode verify(String jwt, PublicKey key) throws Exception {
        String[] parts = jwt.split("\\.");
        if (parts.length != 3) {
            return null;
        }
        JsonNode header = JSON.readTree(Base64.getUrlDecoder().decode(parts[0]));
        if (!"RS256".equals(header.path("alg").asText())) {
            return null;
        }
        Signature rsa = Signature.getInstance("SHA256withRSA");
        rsa.initVerify(key);
        rsa.update((parts[0] + "." + parts[1]).getBytes(StandardCharsets.US_ASCII));
        if (!rsa.verify(Base64.getUrlDecoder().decode(parts[2]))) {
            return null;
        }
        return JSON.readTree(Base64.getUrlDecoder().decode(parts[1]));
    }

    private void token(HttpExchange ex) throws IOException {
        tokenRequests.incrementAndGet();
        try {
            Thread.sleep(tokenDelayMillis);
            Map<String, String> form = new HashMap<>();
            for (String pair : new String(ex.getRequestBody().readAllBytes(), StandardCharsets.UTF_8).split("&")) {
                int eq = pair.indexOf('=');
                form.put(URLDecoder.decode(pair.substring(0, eq), StandardCharsets.UTF_8),
                        URLDecoder.decode(pair.substring(eq + 1), StandardCharsets.UTF_8));
            }
            if (!"POST".equals(ex.getRequestMethod())
                    || !"urn:ietf:params:oauth:grant-type:jwt-bearer".equals(form.get("grant_type"))) {
                answer(ex, 400, "{\"error\":\"unsupported_grant_type\"}", null);
                return;
            }
            JsonNode claims = verify(form.getOrDefault("assertion", ""), keys.getPublic());
            if (claims == null) {
                answer(ex, 400, "{\"error\":\"invalid_grant\",\"error_description\":\"Invalid JWT Signature.\"}", null);
                return;
            }
            if (!EMAIL.equals(claims.path("iss").asText())
                    || !"https://www.googleapis.com/auth/wallet_object.issuer".equals(claims.path("scope").asText())
                    || !tokenUrl().toString().equals(claims.path("aud").asText())
                    || claims.path("exp").asLong() <= claims.path("iat").asLong()
                    || claims.path("exp").asLong() - claims.path("iat").asLong() > 3600) {
                answer(ex, 400, "{\"error\":\"invalid_grant\",\"error_description\":\"bad claims " + claims + "\"}", null);
                return;
            }
            synchronized (grants) {
                grants.add(claims);
            }
            if (tokenStatus != 200) {
                answer(ex, tokenStatus, "{\"error\":\"unavailable\"}", null);
                return;
            }
            String token = "ya29.fake-" + tokenRequests.get();
            issued.add(token);
            answer(ex, 200, "{\"access_token\":\"" + token + "\",\"expires_in\":" + expiresIn + ",\"token_type\":\"Bearer\"}", null);
        } catch (Exception e) {
            answer(ex, 500, "{\"error\":\"" + e + "\"}", null);
        }
    }

    private void api(HttpExchange ex) throws IOException {
        String method = ex.getRequestMethod();
        String path = ex.getRequestURI().getPath();
        byte[] raw = ex.getRequestBody().readAllBytes();
        JsonNode body = raw.length == 0 ? null : JSON.readTree(raw);
        synchronized (calls) {
            calls.add(new Call(method, path, body, System.nanoTime()));
        }
        String auth = ex.getRequestHeaders().getFirst("Authorization");
        if (auth == null || !auth.startsWith("Bearer ") || !issued.contains(auth.substring(7))) {
            answer(ex, 401, "{\"error\":{\"code\":401,\"message\":\"Request had invalid authentication credentials.\"}}", null);
            return;
        }
        Scripted s = null;
        synchronized (script) {
            for (Iterator<Scripted> it = script.iterator(); it.hasNext();) {
                Scripted next = it.next();
                if (next.method.equals(method)) {
                    s = next;
                    it.remove();
                    break;
                }
            }
        }
        if (s != null) {
            answer(ex, s.status, "{\"error\":{\"code\":" + s.status + ",\"message\":\"scripted\"}}", s.retryAfter);
            return;
        }
        String rest = path.substring("/walletobjects/v1/".length());
        int slash = rest.indexOf('/');
        String kind = slash < 0 ? rest : rest.substring(0, slash);
        String id = slash < 0 ? null : rest.substring(slash + 1);
        Map<String, ObjectNode> store = switch (kind) {
            case "loyaltyClass" -> classes;
            case "loyaltyObject" -> objects;
            default -> null;
        };
        if (store == null) {
            answer(ex, 404, "{}", null);
            return;
        }
        switch (method) {
            case "GET" -> {
                ObjectNode o = id == null ? null : store.get(id);
                answer(ex, o == null ? 404 : 200, o == null ? "{\"error\":{\"code\":404}}" : o.toString(), null);
            }
            case "POST" -> {
                if (id != null || body == null || !body.path("id").isTextual()) {
                    answer(ex, 400, "{}", null);
                } else if (store.putIfAbsent(body.get("id").asText(), (ObjectNode) body.deepCopy()) != null) {
                    answer(ex, 409, "{\"error\":{\"code\":409,\"message\":\"Resource already exists\"}}", null);
                } else if (kind.equals("loyaltyObject") && !classes.containsKey(body.path("classId").asText())) {
                    store.remove(body.get("id").asText());
                    answer(ex, 404, "{\"error\":{\"code\":404,\"message\":\"class not found\"}}", null);
                } else {
                    answer(ex, 200, body.toString(), null);
                }
            }
            case "PATCH" -> {
                ObjectNode o = id == null ? null : store.get(id);
                if (o == null) {
                    answer(ex, 404, "{\"error\":{\"code\":404}}", null);
                } else {
                    synchronized (o) {
                        o.setAll((ObjectNode) body);
                    }
                    answer(ex, 200, o.toString(), null);
                }
            }
            default -> answer(ex, 405, "{}", null);
        }
    }

    private static void answer(HttpExchange ex, int status, String body, String retryAfter) throws IOException {
        byte[] b = body.getBytes(StandardCharsets.UTF_8);
        ex.getResponseHeaders().set("Content-Type", "application/json");
        if (retryAfter != null) {
            ex.getResponseHeaders().set("Retry-After", retryAfter);
        }
        ex.sendResponseHeaders(status, b.length);
        try (OutputStream out = ex.getResponseBody()) {
            out.write(b);
        }
    }

    @Override
    public void close() {
        server.stop(0);
        ((java.util.concurrent.ExecutorService) server.getExecutor()).shutdownNow();
    }
}
