package app.sevenstamp.autopilot.sink.wallet.google;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import app.sevenstamp.autopilot.protocol.testing.MutableClock;
import app.sevenstamp.autopilot.sink.config.GoogleWalletSettings;
import app.sevenstamp.autopilot.sink.config.HttpSettings;
import app.sevenstamp.autopilot.sink.web.Credentials;
import app.sevenstamp.autopilot.sink.web.Router;
import app.sevenstamp.autopilot.sink.web.WebServer;
import com.fasterxml.jackson.databind.JsonNode;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** GET /wallet/google/{cardId}?t= on the sink's real router and Jetty, with the fake Google behind it. */
class GoogleSaveRouteTest {
    static final String ISSUER = "3388000000012345678";
    static final byte[] KEY = "a link key of thirty-two bytes!!".getBytes(StandardCharsets.US_ASCII);
    static final String CARD = "ABCDEFGHJKMNPQRS";
    static final String OTHER = "ZYXWVUTSRQPONMLK";

    @TempDir
    Path dir;
    FakeGoogle google;
    GoogleWallet wallet;
    WebServer server;
    final HttpClient http = HttpClient.newHttpClient(); // follows no redirects

    @BeforeEach
    void start() throws Exception {
        google = new FakeGoogle();
        google.writeServiceAccount(dir, google.keys);
        GoogleWalletSettings s = new GoogleWalletSettings(ISSUER, dir.resolve("service-account.json"), "Corner Café",
                URI.create("https://cards.example.com/logo.png"), List.of("https://cards.example.com"), google.base(), null);
        wallet = new GoogleWallet(s, ServiceAccount.load(s.serviceAccountFile()), HttpClient.newHttpClient(),
                new MutableClock(Instant.parse("2026-12-03T10:00:00Z")), d -> { }, () -> 0.5, 20);
        wallet.syncClass("coffee", "Coffee");
        GoogleSaveRoute.Cards cards = (program, card) -> program.equals("coffee")
                ? Optional.of(new CardState(card, "coffee", "Coffee", 0, 10, 0, "7S1.k1.coffee." + card + ".sig"))
                : Optional.empty();
        Router router = new Router(new Credentials("admin-token-0123456789abcdefghij", Map.of()));
        new GoogleSaveRoute(wallet, KEY, cards).register(router);
        server = WebServer.start(HttpSettings.on("127.0.0.1", 0), router);
    }

    @AfterEach
    void stop() {
        server.close();
        wallet.close();
        google.close();
    }

    HttpResponse<String> get(String pathAndQuery) throws Exception {
        return http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + server.port() + pathAndQuery)).build(),
                HttpResponse.BodyHandlers.ofString());
    }

    @Test
    void theCardsOwnLinkInsertsItsObjectAndRedirectsToTheSaveLink() throws Exception {
        String path = GoogleSaveRoute.path(KEY, "coffee", CARD);
        assertTrue(path.startsWith("/wallet/google/" + CARD + "?t=coffee."), path);
        HttpResponse<String> r = get(path);
        assertEquals(303, r.statusCode(), r.body());
        String location = r.headers().firstValue("Location").orElseThrow();
        assertTrue(location.startsWith("https://pay.google.com/gp/v/save/"), location);
        assertEquals("no-store", r.headers().firstValue("Cache-Control").orElse(""));
        JsonNode claims = FakeGoogle.verify(location.substring(location.lastIndexOf('/') + 1), google.keys.getPublic());
        assertNotNull(claims);
        assertEquals(ISSUER + ".7s-" + CARD, claims.path("payload").path("loyaltyObjects").path(0).path("id").asText());
        assertNotNull(google.objects.get(ISSUER + ".7s-" + CARD), "object inserted before the redirect");

        int calls = google.calls().size();
        for (int i = 0; i < 30; i++) {
            assertEquals(303, get(path).statusCode(), "the link works again");
        }
        assertEquals(calls, google.calls().size(), "a holder reloading the link costs no request to Google");
        assertEquals(1, google.objects.size());
    }

    @Test
    void aCardIdAloneOrAnotherCardsTokenGetsNothing() throws Exception {
        String mine = GoogleSaveRoute.token(KEY, "coffee", CARD);
        String other = GoogleSaveRoute.token(KEY, "coffee", OTHER);
        assertNotEquals(mine, other);
        assertEquals(403, get("/wallet/google/" + CARD).statusCode(), "no token");
        assertEquals(403, get("/wallet/google/" + CARD + "?t=").statusCode(), "empty token");
        assertEquals(403, get("/wallet/google/" + CARD + "?t=" + other).statusCode(), "another card's token");
        assertEquals(403, get("/wallet/google/" + CARD + "?t=tea." + mine.substring(7)).statusCode(), "another program");
        assertEquals(403, get("/wallet/google/" + CARD + "?t=" + GoogleSaveRoute.token(
                "another key of thirty-two bytes!".getBytes(StandardCharsets.US_ASCII), "coffee", CARD)).statusCode(), "another key");
        assertEquals(403, get("/wallet/google/" + CARD + "?t=" + mine + "%3D%3D").statusCode(), "padded spelling");
        assertEquals(403, get("/wallet/google/" + CARD + "?t=" + mine.substring(0, mine.length() - 1)).statusCode(), "truncated");
        assertEquals(403, get("/wallet/google/" + CARD + "?t=" + "x".repeat(5000)).statusCode(), "huge");
        assertEquals(400, get("/wallet/google/not-a-card?t=" + mine).statusCode());
        assertEquals(400, get("/wallet/google/%3Cscript%3E?t=" + mine).statusCode());
        assertTrue(google.objects.isEmpty(), "nothing inserted for a refused link");
        assertFalse(google.calls().stream().anyMatch(c -> c.path().contains("loyaltyObject")));
    }

    @Test
    void googleDownGivesTheCustomerAPageToTryAgain() throws Exception {
        for (int i = 0; i < WalletApi.MAX_ATTEMPTS; i++) {
            google.script("POST", 503, null);
        }
        HttpResponse<String> r = get(GoogleSaveRoute.path(KEY, "coffee", CARD));
        assertEquals(503, r.statusCode());
        assertEquals("30", r.headers().firstValue("Retry-After").orElse(""));
        assertTrue(r.body().contains("try again in a minute"), r.body());
        assertEquals(303, get(GoogleSaveRoute.path(KEY, "coffee", CARD)).statusCode(), "and the next try works");
    }
}
