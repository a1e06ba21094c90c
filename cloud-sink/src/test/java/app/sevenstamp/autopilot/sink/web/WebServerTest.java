package app.sevenstamp.autopilot.sink.web;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import app.sevenstamp.autopilot.sink.config.HttpSettings;
import app.sevenstamp.autopilot.sink.store.StoreException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** The router and the server's rules, on a real Jetty with routes of the test's own. */
class WebServerTest {
    private static final String ADMIN = "admin-token-0123456789abcdefghij";
    private static final String TILL = "till-key-0123456789abcdefghijkl";
    private static final ObjectMapper JSON = new ObjectMapper();
    private static WebServer server;
    private final HttpClient http = HttpClient.newHttpClient();

    @BeforeAll
    static void start() {
        Router router = new Router(new Credentials(ADMIN, Map.of("shop-1", TILL)));
        router.get("/page/{name}", Access.PUBLIC, ex -> ex.html(200, "<p>" + ex.param("name") + "</p>"))
                .get("/secret", Access.ADMIN, ex -> ex.json(200, Map.of("ok", true)))
                .post("/till", Access.POS, ex -> ex.json(200, Map.of("location", ex.caller().location(),
                        "n", ex.jsonObject(64).path("n").asInt())))
                .get("/broken", Access.PUBLIC, ex -> {
                    throw new IllegalStateException("a bug");
                })
                .get("/store-down", Access.PUBLIC, ex -> {
                    throw new StoreException("connection refused", null);
                })
                .get("/silent", Access.PUBLIC, ex -> { });
        server = WebServer.start(HttpSettings.on("127.0.0.1", 0), router);
    }

    @AfterAll
    static void stop() {
        server.close();
    }

    private HttpResponse<String> send(HttpRequest.Builder b) throws Exception {
        return http.send(b.build(), HttpResponse.BodyHandlers.ofString());
    }

    private HttpRequest.Builder at(String path) {
        return HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + server.port() + path));
    }

    private static void assertProblem(HttpResponse<String> r, int status, String detailPart) throws Exception {
        assertEquals(status, r.statusCode(), r.body());
        assertEquals("application/problem+json", r.headers().firstValue("Content-Type").orElse(""));
        JsonNode p = JSON.readTree(r.body());
        assertEquals(status, p.path("status").asInt(), r.body());
        assertEquals("about:blank", p.path("type").asText());
        assertTrue(p.path("title").asText().length() > 2, r.body());
        assertTrue(p.path("detail").asText().contains(detailPart), r.body());
        assertEquals("nosniff", r.headers().firstValue("X-Content-Type-Options").orElse(""));
    }

    @Test
    void everyErrorIsAProblemDocument() throws Exception {
        assertProblem(send(at("/nothing/here")), 404, "/nothing/here");
        HttpResponse<String> wrongMethod = send(at("/secret").POST(HttpRequest.BodyPublishers.noBody()));
        assertProblem(wrongMethod, 405, "GET");
        assertEquals("GET, HEAD", wrongMethod.headers().firstValue("Allow").orElse(""));
        assertProblem(send(at("/broken")), 500, "internal error");
        assertProblem(send(at("/store-down")), 503, "unavailable");
        assertProblem(send(at("/silent")), 500, "internal error");
    }

    @Test
    void theAuthenticationFilterKnowsTheOperatorAndEachTill() throws Exception {
        HttpResponse<String> none = send(at("/secret"));
        assertProblem(none, 401, "operator");
        assertEquals("Bearer", none.headers().firstValue("WWW-Authenticate").orElse(""));
        assertProblem(send(at("/secret").header("Authorization", "Bearer " + TILL)), 403, "may not");
        assertEquals(200, send(at("/secret").header("Authorization", "Bearer " + ADMIN)).statusCode());
        assertProblem(send(at("/till").header("Authorization", "Bearer " + ADMIN)
                .POST(HttpRequest.BodyPublishers.ofString("{}"))), 403, "may not");
        assertProblem(send(at("/till").header("Authorization", "Bearer wrong-key-0123456789abcdefghij")
                .POST(HttpRequest.BodyPublishers.ofString("{}"))), 401, "API key");
        HttpResponse<String> till = send(at("/till").header("Authorization", "Bearer " + TILL)
                .POST(HttpRequest.BodyPublishers.ofString("{\"n\":7}")));
        JsonNode answer = JSON.readTree(till.body());
        assertEquals("shop-1", answer.path("location").asText(), "the till's key decides its location");
        assertEquals(7, answer.path("n").asInt());
    }

    /**
     * A refusal answered before the route read the body must leave the kept-alive connection usable: a
     * client whose body arrives after the head sends its next request on the same connection (the JDK
     * client failed with "header parser received no bytes" when the server had closed it).
     */
    @Test
    void aRefusedRequestsBodyIsReadSoTheConnectionStaysUsable() throws Exception {
        String body = "{\"n\":\"" + "x".repeat(3000) + "\"}";
        try (Socket s = new Socket("127.0.0.1", server.port())) {
            s.setSoTimeout(5_000);
            OutputStream out = s.getOutputStream();
            out.write(("POST /till HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer wrong-key-0123456789abcdefghij\r\n"
                    + "Content-Type: application/json\r\nContent-Length: " + body.length() + "\r\n\r\n")
                    .getBytes(StandardCharsets.US_ASCII));
            out.flush();
            Thread.sleep(300); // the body comes later, as it does over a slow network
            out.write(body.getBytes(StandardCharsets.US_ASCII));
            out.write("GET /page/again HTTP/1.1\r\nHost: x\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
            out.flush();
            InputStream in = s.getInputStream();
            StringBuilder seen = new StringBuilder();
            byte[] buffer = new byte[4096];
            long deadline = System.nanoTime() + 5_000_000_000L;
            while (!seen.toString().contains("<p>again</p>") && System.nanoTime() < deadline) {
                int n = in.read(buffer);
                if (n < 0) {
                    break;
                }
                seen.append(new String(buffer, 0, n, StandardCharsets.US_ASCII));
            }
            assertTrue(seen.toString().startsWith("HTTP/1.1 401"), seen.toString());
            assertTrue(seen.toString().contains("<p>again</p>"), "the second request on the connection is answered: " + seen);
        }
    }

    @Test
    void bodiesAndHeadersAreBounded() throws Exception {
        assertProblem(send(at("/till").header("Authorization", "Bearer " + TILL)
                .POST(HttpRequest.BodyPublishers.ofString("{\"n\":\"" + "x".repeat(100) + "\"}"))), 413, "64");
        assertProblem(send(at("/till").header("Authorization", "Bearer " + TILL)
                .POST(HttpRequest.BodyPublishers.ofString("[1]"))), 400, "JSON object");
        assertProblem(send(at("/till").header("Authorization", "Bearer " + TILL)
                .POST(HttpRequest.BodyPublishers.ofString("{\"n\":"))), 400, "not JSON");
        // a request head beyond http.maxHeaderBytes (8 KB) is refused by Jetty, in the same format
        try (Socket s = new Socket("127.0.0.1", server.port())) {
            OutputStream out = s.getOutputStream();
            out.write(("GET /page/x HTTP/1.1\r\nHost: x\r\nX-Big: " + "a".repeat(20_000) + "\r\n\r\n")
                    .getBytes(StandardCharsets.US_ASCII));
            out.flush();
            s.setSoTimeout(5_000);
            InputStream in = s.getInputStream();
            String answer = new String(in.readAllBytes(), StandardCharsets.US_ASCII);
            assertTrue(answer.startsWith("HTTP/1.1 431"), answer);
            assertTrue(answer.contains("application/problem+json") && answer.contains("\"status\":431"), answer);
        }
    }

    @Test
    void pagesCarryAContentSecurityPolicyAndNoAnswerIsCached() throws Exception {
        HttpResponse<String> page = send(at("/page/hello"));
        assertEquals(200, page.statusCode());
        String csp = page.headers().firstValue("Content-Security-Policy").orElse("");
        assertTrue(csp.contains("default-src 'none'") && csp.contains("frame-ancestors 'none'"), csp);
        assertTrue(!csp.contains("unsafe-inline"), csp);
        assertEquals("no-store", page.headers().firstValue("Cache-Control").orElse(""));
        assertEquals("DENY", page.headers().firstValue("X-Frame-Options").orElse(""));
        assertEquals("same-origin", page.headers().firstValue("Referrer-Policy").orElse(""));
        assertTrue(page.headers().firstValue("Server").isEmpty(), "no server version is sent");

        HttpResponse<String> head = send(at("/page/hello").method("HEAD", HttpRequest.BodyPublishers.noBody()));
        assertEquals(200, head.statusCode());
        assertEquals("", head.body());
    }
}
