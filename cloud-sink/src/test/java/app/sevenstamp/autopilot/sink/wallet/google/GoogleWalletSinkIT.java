package app.sevenstamp.autopilot.sink.wallet.google;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import app.sevenstamp.autopilot.protocol.card.CardCheck;
import app.sevenstamp.autopilot.protocol.support.ConfigException;
import app.sevenstamp.autopilot.sink.SinkServer;
import app.sevenstamp.autopilot.sink.cards.SigningKey;
import app.sevenstamp.autopilot.sink.config.SinkConfig;
import app.sevenstamp.autopilot.sink.testing.TestSink;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The whole sink with google.* pointing at the fake: classes at start, the save route, the channel, a restart. */
class GoogleWalletSinkIT {
    static final String ISSUER = "3388000000012345678";
    static final String CARD = "ABCDEFGHJKMNPQRS";

    @TempDir
    Path dir;
    FakeGoogle google;
    final HttpClient http = HttpClient.newHttpClient();

    @BeforeEach
    void startFake() throws Exception {
        google = new FakeGoogle();
        google.writeServiceAccount(dir, google.keys);
    }

    @AfterEach
    void stopFake() {
        google.close();
    }

    SinkConfig config(boolean withGoogle) {
        TestSink sink = TestSink.in(dir).program("coffee", 8).set("program.coffee.name", "Coffee").program("tea", 5);
        if (withGoogle) {
            sink.set("google.issuerId", ISSUER)
                    .set("google.serviceAccountFile", dir.resolve("service-account.json").toString())
                    .set("google.issuerName", "Corner Café")
                    .set("google.logoUrl", "https://cards.example.com/logo.png")
                    .set("google.origins", "https://cards.example.com")
                    .set("google.apiUrl", google.base().toString());
        }
        return sink.config();
    }

    HttpResponse<String> get(SinkServer sink, String path) throws Exception {
        return http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + sink.httpPort() + path)).build(),
                HttpResponse.BodyHandlers.ofString());
    }

    @Test
    void classesAtStartSaveRouteAndUpdatesThroughTheRunningSink() throws Exception {
        SinkConfig config = config(true);
        try (SinkServer sink = SinkServer.start(config)) {
            await().atMost(Duration.ofSeconds(10)).until(() -> google.classes.size() == 2);
            SigningKey key = SigningKey.loadOrCreate(config.keysFile(), config.keyId());
            byte[] linkKey = key.derivedKey(GoogleWalletSetup.LINK_PURPOSE);

            HttpResponse<String> r = get(sink, GoogleSaveRoute.path(linkKey, "coffee", CARD));
            assertEquals(303, r.statusCode(), r.body());
            assertTrue(r.headers().firstValue("Location").orElse("").startsWith("https://pay.google.com/gp/v/save/"));
            var object = google.objects.get(ISSUER + ".7s-" + CARD);
            String code = object.path("barcode").path("value").asText();
            assertInstanceOf(CardCheck.Valid.class, key.verifier().verify(code), "the pass's barcode is a card code the box accepts");
            assertEquals("0 / 8", object.path("loyaltyPoints").path("balance").path("string").asText());
            assertEquals(ISSUER + ".7s-coffee", object.path("classId").asText());

            assertEquals(403, get(sink, GoogleSaveRoute.path("not the sink's key, 32 bytes long".getBytes(), "coffee", CARD)).statusCode());
            assertEquals(403, get(sink, GoogleSaveRoute.path(linkKey, "cake", CARD)).statusCode(), "not a program of this sink");

            GoogleChannel channel = sink.googleWallet();
            assertTrue(channel.enabled());
            assertEquals(GoogleChannel.Update.UPDATED,
                    channel.cardChanged(new CardState(CARD, "coffee", "Coffee", 1, 8, 0, code), ChangeKind.STAMP));
            assertEquals("1 / 8", google.objects.get(ISSUER + ".7s-" + CARD).path("loyaltyPoints").path("balance").path("string").asText());
        }
        try (SinkServer sink = SinkServer.start(config)) {
            await().atMost(Duration.ofSeconds(10)).until(() -> google.calls("PATCH", "loyaltyClass/").size() == 2);
            assertEquals(2, google.calls("POST", "loyaltyClass").size(), "each class inserted once, on the first start");
        }
    }

    @Test
    void aMissingKeyFileStopsTheStartWithAConfigurationError() throws Exception {
        java.nio.file.Files.delete(dir.resolve("service-account.json"));
        String message = assertThrows(ConfigException.class, () -> SinkServer.start(config(true))).getMessage();
        assertTrue(message.startsWith("google.serviceAccountFile: " + dir.resolve("service-account.json") + ": no such file; download"),
                message);
    }

    @Test
    void withoutGoogleKeysTheChannelIsOffAndTheRouteAbsent() throws Exception {
        try (SinkServer sink = SinkServer.start(config(false))) {
            assertFalse(sink.googleWallet().enabled());
            assertEquals(GoogleChannel.Update.OFF, sink.googleWallet().cardChanged(
                    new CardState(CARD, "coffee", "Coffee", 1, 8, 0, "x"), ChangeKind.STAMP));
            assertEquals(404, get(sink, "/wallet/google/" + CARD + "?t=coffee.AAAA").statusCode());
        }
        assertTrue(google.calls().isEmpty());
    }
}
