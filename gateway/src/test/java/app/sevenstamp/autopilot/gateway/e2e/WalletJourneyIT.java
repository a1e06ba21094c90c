package app.sevenstamp.autopilot.gateway.e2e;

import app.sevenstamp.autopilot.gateway.testing.GatewayProps;
import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import app.sevenstamp.autopilot.protocol.testing.SocatPty;
import app.sevenstamp.autopilot.sink.SinkServer;
import app.sevenstamp.autopilot.sink.config.SinkConfig;
import app.sevenstamp.autopilot.sink.testing.FakeApns;
import app.sevenstamp.autopilot.sink.testing.Pkpass;
import app.sevenstamp.autopilot.sink.testing.TestPki;
import app.sevenstamp.autopilot.sink.testing.TestSink;
import com.fasterxml.jackson.databind.JsonNode;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The customer's whole journey on the real parts, as the product promises it: a phone opens the join
 * page and posts its form (as a browser without JavaScript does), follows "Add to Apple Wallet" to a
 * signed .pkpass, and Wallet registers the pass with the sink. The card's barcode is then typed into a
 * socat pty read by the real gateway jar, which stamps it through the broker; the sink pushes to the
 * phone (a local HTTP/2 TLS server that requires the pass certificate plays APNs), and the phone fetches
 * the new pass (1 stamp) and then gets 304 for it.
 */
class WalletJourneyIT {
    private static final Duration WAIT = Duration.ofSeconds(30);
    private static final String DEVICE = "9f8e7d6c5b4a39281706f5e4d3c2b1a0";
    private static final String PUSH_TOKEN = "ab".repeat(32);
    private static final Pattern FORM_TOKEN = Pattern.compile("name=\"t\" value=\"([^\"]+)\"");
    private static final Pattern COOKIE = Pattern.compile("join_form=([^;]+)");
    private static final Pattern APPLE_LINK = Pattern.compile("href=\"(/wallet/apple/([A-Z2-7]{16})\\.pkpass\\?[^\"]+)\">Add to Apple Wallet");

    @TempDir
    Path dir;
    private final HttpClient http = HttpClient.newHttpClient();
    private String base;

    @Test
    void joinAddToWalletScanAtTheCounterAndThePhoneGetsTheNewPass() throws Exception {
        TestPki pki = new TestPki(Files.createDirectories(dir.resolve("pki")));
        try (FakeApns apns = new FakeApns(pki); SinkServer sink = SinkServer.start(sinkConfig(apns, pki))) {
            base = "http://127.0.0.1:" + sink.httpPort();

            // 1. join: open the page, post its form, land on the web card that offers Apple Wallet
            HttpResponse<String> page = send("GET", "/join/coffee", null, Map.of("Accept", "text/html"));
            assertEquals(200, page.statusCode(), page.body());
            Matcher token = FORM_TOKEN.matcher(page.body());
            Matcher cookie = COOKIE.matcher(page.headers().firstValue("Set-Cookie").orElseThrow());
            assertTrue(token.find() && cookie.find(), page.body());
            HttpResponse<String> joined = send("POST", "/join/coffee",
                    "t=" + URLEncoder.encode(token.group(1).replace("&amp;", "&"), StandardCharsets.UTF_8),
                    Map.of("Content-Type", "application/x-www-form-urlencoded", "Cookie", "join_form=" + cookie.group(1),
                            "Origin", base, "Accept", "text/html"));
            assertEquals(303, joined.statusCode(), joined.body());
            HttpResponse<String> webCard = send("GET", joined.headers().firstValue("Location").orElseThrow(), null,
                    Map.of("Accept", "text/html"));
            Matcher apple = APPLE_LINK.matcher(webCard.body());
            assertTrue(apple.find(), "the web card offers Apple Wallet: " + webCard.body());
            String cardId = apple.group(2);

            // 2. add to Wallet: the .pkpass, whose barcode is the card code; Wallet registers the pass
            HttpResponse<byte[]> download = bytes("GET", apple.group(1).replace("&amp;", "&"), Map.of());
            assertEquals(200, download.statusCode());
            JsonNode pass = Pkpass.passJson(download.body());
            String cardCode = pass.get("barcodes").get(0).get("message").asText();
            assertTrue(cardCode.startsWith("7S1.") && cardCode.contains("." + cardId + "."), cardCode);
            assertEquals("0 of 5", stamps(pass));
            String auth = "ApplePass " + pass.get("authenticationToken").asText();
            String registration = "/passkit/v1/devices/" + DEVICE + "/registrations/" + TestPki.PASS_TYPE + "/" + cardId;
            assertEquals(201, send("POST", registration, "{\"pushToken\":\"" + PUSH_TOKEN + "\"}",
                    Map.of("Authorization", auth, "Content-Type", "application/json")).statusCode());
            String passPath = "/passkit/v1/passes/" + TestPki.PASS_TYPE + "/" + cardId;
            HttpResponse<byte[]> before = bytes("GET", passPath, Map.of("Authorization", auth));
            String lastModified = before.headers().firstValue("Last-Modified").orElseThrow();
            assertEquals(0, apns.pushes.size(), "nothing changed yet");

            // 3. the counter: the card's barcode read by the box's scanner
            Path sinkProperties = dir.resolve("sink.properties");
            try (SocatPty pty = SocatPty.start(dir, "scanner");
                 GatewayProcess gateway = GatewayProcess.start(
                         gatewayConfig(sink.brokerUrl(), pty.devicePath(), SinkCli.trustedKey(sinkProperties)),
                         dir.resolve("gateway.log"))) {
                gateway.awaitLog("gateway ready", WAIT);
                pty.scan(cardCode);
                String line = gateway.awaitLine(l -> l.startsWith("ACCEPTED") || l.startsWith("REJECTED"), WAIT, "the scan's feedback");
                assertTrue(line.startsWith("ACCEPTED") && line.contains("card=" + cardId), line);

                // 4. the phone: pushed, asks for the pass, gets 1 stamp; asks again with that date, gets 304
                await().atMost(WAIT).until(() -> !apns.to(PUSH_TOKEN).isEmpty());
                FakeApns.Push push = apns.to(PUSH_TOKEN).get(0);
                assertEquals(TestPki.PASS_TYPE, push.topic());
                assertEquals("HTTP/2.0", push.protocol());
                HttpResponse<byte[]> updated = bytes("GET", passPath, Map.of("Authorization", auth, "If-Modified-Since", lastModified));
                assertEquals(200, updated.statusCode(), "the pass changed since " + lastModified);
                assertEquals("1 of 5", stamps(Pkpass.passJson(updated.body())));
                String newer = updated.headers().firstValue("Last-Modified").orElseThrow();
                HttpResponse<byte[]> again = bytes("GET", passPath, Map.of("Authorization", auth, "If-Modified-Since", newer));
                assertEquals(304, again.statusCode());
                assertEquals(0, again.body().length);
                assertEquals(401, bytes("GET", passPath, Map.of("Authorization", "ApplePass wrong-token-0123456789")).statusCode());
            }
        }
    }

    private static String stamps(JsonNode pass) {
        return pass.get("storeCard").get("headerFields").get(0).get("value").asText();
    }

    private HttpResponse<String> send(String method, String path, String body, Map<String, String> headers) throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(path.startsWith("http") ? path : base + path))
                .method(method, body == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofString(body));
        headers.forEach(b::header);
        return http.send(b.build(), HttpResponse.BodyHandlers.ofString());
    }

    private HttpResponse<byte[]> bytes(String method, String path, Map<String, String> headers) throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(base + path)).method(method, HttpRequest.BodyPublishers.noBody());
        headers.forEach(b::header);
        return http.send(b.build(), HttpResponse.BodyHandlers.ofByteArray());
    }

    private SinkConfig sinkConfig(FakeApns apns, TestPki pki) throws Exception {
        return TestSink.in(dir).program("coffee", 5).set("program.coffee.name", "Coffee card")
                .set("wallet.apple.passTypeId", TestPki.PASS_TYPE).set("wallet.apple.teamId", TestPki.TEAM)
                .set("wallet.apple.cert", pki.file("pass.pem").toString()).set("wallet.apple.key", pki.file("pass.key").toString())
                .set("wallet.apple.wwdr", pki.file("wwdr.pem").toString()).set("wallet.apple.webServiceUrl", "https://cards.example.com")
                .set("wallet.apple.apnsUrl", apns.url()).set("wallet.apple.apnsCa", pki.file("ca.pem").toString()).config();
    }

    private Path gatewayConfig(String brokerUrl, Path port, String trustedKey) throws Exception {
        return GatewayProps.counter("journey-counter", trustedKey, dir.resolve("outbox"), brokerUrl)
                .set("device.location", "test-shop").serialScanner(port).write(dir.resolve("gateway.properties"));
    }
}
