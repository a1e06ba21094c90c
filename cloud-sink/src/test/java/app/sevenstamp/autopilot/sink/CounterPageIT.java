package app.sevenstamp.autopilot.sink;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import app.sevenstamp.autopilot.protocol.testing.Vectors;
import app.sevenstamp.autopilot.sink.testing.TestSink;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Issue 14, item 3: the counter fallback. A staff session stamps a wallet card through the same till
 * path as a POS (rules, ledger, dedup), a retry of one scan is never a second stamp, a voucher is
 * redeemed, staff of one shop cannot stamp for another, and every scan is in the audit log.
 */
@Tag("quick")
class CounterPageIT {
    private static final String KEY = "pos-key-for-shop-1-0123456789abcdef";
    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    Path dir;
    private final HttpClient http = HttpClient.newHttpClient();
    private int port;
    private String token;

    private HttpResponse<String> send(HttpRequest.Builder b) throws Exception {
        return http.send(b.build(), HttpResponse.BodyHandlers.ofString());
    }

    private HttpRequest.Builder at(String path) {
        return HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path));
    }

    private void account(String json) throws Exception {
        HttpResponse<String> r = send(at("/api/v1/operators").header("Authorization", "Bearer " + token)
                .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString(json)));
        assertEquals(201, r.statusCode(), r.body());
    }

    /** Signs in; returns the cookie and the page's CSRF token. */
    private String[] session(String name, String password) throws Exception {
        HttpResponse<String> r = send(at("/console/login").header("Content-Type", "application/x-www-form-urlencoded")
                .POST(HttpRequest.BodyPublishers.ofString("name=" + name + "&password=" + URLEncoder.encode(password,
                        StandardCharsets.UTF_8) + "&next=/console/counter")));
        assertEquals(303, r.statusCode(), r.body());
        assertEquals("/console/counter", r.headers().firstValue("Location").orElse(""));
        Matcher c = Pattern.compile("7s_session=([A-Za-z0-9_-]{43})").matcher(r.headers().firstValue("Set-Cookie").orElseThrow());
        assertTrue(c.find());
        HttpResponse<String> page = send(at("/console/counter").header("Cookie", "7s_session=" + c.group(1)));
        assertEquals(200, page.statusCode(), page.body());
        Matcher t = Pattern.compile("data-csrf=\"([A-Za-z0-9_-]{43})\"").matcher(page.body());
        assertTrue(t.find(), page.body());
        return new String[] {c.group(1), t.group(1), page.body()};
    }

    private JsonNode scan(String[] session, String location, String code, String requestId, int status) throws Exception {
        String body = JSON.writeValueAsString(java.util.Map.of("code", code, "location", location, "requestId", requestId));
        HttpResponse<String> r = send(at("/api/v1/counter/scan").header("Cookie", "7s_session=" + session[0])
                .header("X-CSRF-Token", session[1]).header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(body)));
        assertEquals(status, r.statusCode(), r.body());
        return JSON.readTree(r.body());
    }

    @Test
    void staffStampsAndRedeemsThroughTheTillPath() throws Exception {
        TestSink config = TestSink.in(dir).vectorKey().program("coffee", 2).set("program.coffee.cooldown", "1h")
                .set("pos.shop-1.apiKey", KEY).set("pos.shop-2.apiKey", "pos-key-for-shop-2-0123456789abcdef");
        try (SinkServer sink = config.start()) {
            port = sink.httpPort();
            token = Files.readString(config.storeDir().resolve("admin.token")).trim();
            account("{\"name\":\"dana\",\"role\":\"staff\",\"locations\":[\"shop-1\"],\"password\":\"dana works the counter\"}");
            account("{\"name\":\"eli\",\"role\":\"staff\",\"locations\":[\"shop-2\"],\"password\":\"eli works in shop two\"}");
            String[] dana = session("dana", "dana works the counter");
            HttpResponse<String> page = send(at("/console/counter").header("Cookie", "7s_session=" + dana[0]));
            String csp = page.headers().firstValue("Content-Security-Policy").orElse("");
            assertTrue(csp.contains("script-src 'self'") && !csp.contains("unsafe-inline"), csp);
            assertTrue(dana[2].contains("<option>shop-1</option>") && !dana[2].contains("shop-2"), dana[2]);
            assertEquals(200, send(at("/assets/counter.js")).statusCode());
            assertTrue(send(at("/assets/jsQR.js")).body().contains("jsQR"));

            String card = Vectors.cardText("valid");
            JsonNode first = scan(dana, "shop-1", card, "scan-0000000001", 200);
            assertEquals("ACCEPTED", first.path("outcome").asText(), first.toString());
            assertEquals("Stamped", first.path("headline").asText());
            assertEquals("1 of 2 stamps", first.path("detail").asText());
            JsonNode retry = scan(dana, "shop-1", card, "scan-0000000001", 200);
            assertEquals("DUPLICATE", retry.path("outcome").asText(), "the page's retry of one scan: " + retry);
            assertEquals("Already stamped", retry.path("headline").asText());
            JsonNode again = scan(dana, "shop-1", card, "scan-0000000002", 200);
            assertEquals("TOO_SOON", again.path("outcome").asText(), "the program's cooldown, as for a till: " + again);
            assertEquals("Not stamped: stamped a moment ago", again.path("headline").asText());
            assertEquals(1, sink.store().card("ABCDEFGHJKMNPQRS").orElseThrow().balance().stamps(), "one stamp in all");

            JsonNode junk = scan(dana, "shop-1", "<script>alert(1)</script>", "scan-0000000003", 200);
            assertEquals("UNREADABLE", junk.path("outcome").asText());
            scan(dana, "shop-2", card, "scan-0000000004", 403);
            String[] eli = session("eli", "eli works in shop two");
            scan(eli, "shop-1", card, "scan-0000000005", 403);
            HttpResponse<String> noToken = send(at("/api/v1/counter/scan").header("Cookie", "7s_session=" + dana[0])
                    .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString(
                            "{\"code\":\"x\",\"location\":\"shop-1\",\"requestId\":\"scan-0000000006\"}")));
            assertEquals(403, noToken.statusCode(), "a scan needs the session's CSRF token");

            // a goodwill voucher, redeemed at the counter
            HttpResponse<String> issued = send(at("/api/v1/vouchers").header("Authorization", "Bearer " + token)
                    .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString(
                            "{\"title\":\"Free cake\",\"reason\":\"sorry for the wait\",\"cardId\":\"ABCDEFGHJKMNPQRS\"}")));
            assertEquals(201, issued.statusCode(), issued.body());
            String voucher = JSON.readTree(issued.body()).path("code").asText();
            JsonNode redeemed = scan(dana, "shop-1", voucher, "scan-0000000007", 200);
            assertEquals("REDEEMED", redeemed.path("outcome").asText(), redeemed.toString());
            assertEquals("Redeemed: Free cake", redeemed.path("headline").asText());
            JsonNode twice = scan(dana, "shop-1", voucher, "scan-0000000008", 200);
            assertEquals("ALREADY_REDEEMED", twice.path("outcome").asText(), twice.toString());

            String audit = send(at("/api/v1/audit").header("Authorization", "Bearer " + token)).body();
            assertTrue(audit.contains("\"actor\":\"dana\",\"action\":\"counter-stamp\",\"target\":\"card ABCDEFGHJKMNPQRS\","
                    + "\"detail\":\"shop-1: ACCEPTED\""), audit);
            assertTrue(audit.contains("\"action\":\"counter-redeem\""), audit);
        }
    }
}
