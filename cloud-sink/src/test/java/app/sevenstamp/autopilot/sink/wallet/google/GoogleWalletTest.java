package app.sevenstamp.autopilot.sink.wallet.google;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import app.sevenstamp.autopilot.protocol.testing.MutableClock;
import app.sevenstamp.autopilot.sink.config.GoogleWalletSettings;
import com.fasterxml.jackson.databind.JsonNode;
import java.net.URI;
import java.net.http.HttpClient;
import java.nio.file.Path;
import java.security.KeyPairGenerator;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The Google channel against {@link FakeGoogle}: real HTTP, real RS256 signatures checked by the fake. */
class GoogleWalletTest {
    static final String ISSUER = "3388000000012345678";

    @TempDir
    Path dir;
    FakeGoogle google;
    MutableClock clock = new MutableClock(Instant.parse("2026-12-03T10:00:00Z"));
    final List<Duration> waits = Collections.synchronizedList(new ArrayList<>());
    final HttpClient http = HttpClient.newHttpClient();

    @BeforeEach
    void startFake() throws Exception {
        google = new FakeGoogle();
    }

    @AfterEach
    void stopFake() {
        google.close();
    }

    GoogleWalletSettings settings() {
        return new GoogleWalletSettings(ISSUER, dir.resolve("service-account.json"), "Corner Café",
                URI.create("https://cards.example.com/logo.png"), List.of("https://cards.example.com"), google.base(), null);
    }

    /** A wallet whose retry waits are recorded, not slept. */
    GoogleWallet wallet() throws Exception {
        google.writeServiceAccount(dir, google.keys);
        GoogleWalletSettings s = settings();
        return new GoogleWallet(s, ServiceAccount.load(s.serviceAccountFile()), http, clock, waits::add, () -> 0.5,
                GoogleWallet.REQUESTS_PER_SECOND);
    }

    static CardState card(int stamps, int rewards) {
        return new CardState("ABCDEFGHJKMNPQRS", "coffee", "Coffee", stamps, 10, rewards, "7S1.k1.coffee.ABCDEFGHJKMNPQRS.sig");
    }

    @Test
    void classIsCreatedAtFirstStartAndUpdatedAtTheSecond() throws Exception {
        try (GoogleWallet w = wallet()) {
            assertEquals(GoogleWallet.ClassSync.CREATED, w.syncClass("coffee", "Coffee"));
        }
        JsonNode created = google.classes.get(ISSUER + ".7s-coffee");
        assertNotNull(created, "class inserted");
        assertEquals("Corner Café", created.path("issuerName").asText());
        assertEquals("Coffee", created.path("programName").asText());
        assertEquals("https://cards.example.com/logo.png", created.path("programLogo").path("sourceUri").path("uri").asText());
        assertEquals("UNDER_REVIEW", created.path("reviewStatus").asText());

        try (GoogleWallet w = wallet()) {
            assertEquals(GoogleWallet.ClassSync.UPDATED, w.syncClass("coffee", "Coffee & Cake"));
        }
        assertEquals(1, google.calls("POST", "loyaltyClass").size(), "inserted once");
        assertEquals(1, google.calls("PATCH", "loyaltyClass/" + ISSUER + ".7s-coffee").size(), "updated the second time");
        assertEquals("Coffee & Cake", google.classes.get(ISSUER + ".7s-coffee").path("programName").asText());
    }

    @Test
    void saveLinkInsertsTheObjectAndCarriesASmallJwtSignedByTheServiceAccount() throws Exception {
        URI link;
        try (GoogleWallet w = wallet()) {
            w.syncClass("coffee", "Coffee");
            link = w.saveLink(card(2, 0));
            assertTrue(w.saveLink(card(2, 0)).toString().startsWith(GoogleWallet.SAVE_URL), "a second save link for the card works too");
        }
        JsonNode object = google.objects.get(ISSUER + ".7s-ABCDEFGHJKMNPQRS");
        assertNotNull(object, "object inserted");
        assertEquals(ISSUER + ".7s-coffee", object.path("classId").asText());
        assertEquals("QR_CODE", object.path("barcode").path("type").asText());
        assertEquals("7S1.k1.coffee.ABCDEFGHJKMNPQRS.sig", object.path("barcode").path("value").asText());
        assertEquals("2 / 10", object.path("loyaltyPoints").path("balance").path("string").asText());
        assertEquals(0, object.path("secondaryLoyaltyPoints").path("balance").path("int").asInt(-1));

        String text = link.toString();
        assertTrue(text.startsWith("https://pay.google.com/gp/v/save/"), text);
        assertTrue(text.length() < 1024, "save link of " + text.length() + " characters (docs/wallet.md promises < 1 KB)");
        JsonNode claims = FakeGoogle.verify(text.substring("https://pay.google.com/gp/v/save/".length()), google.keys.getPublic());
        assertNotNull(claims, "the JWT verifies with the service account's public key");
        assertEquals(FakeGoogle.EMAIL, claims.path("iss").asText());
        assertEquals("google", claims.path("aud").asText());
        assertEquals("savetowallet", claims.path("typ").asText());
        assertEquals("https://cards.example.com", claims.path("origins").path(0).asText());
        assertEquals(clock.instant().getEpochSecond(), claims.path("iat").asLong());
        assertEquals(ISSUER + ".7s-ABCDEFGHJKMNPQRS", claims.path("payload").path("loyaltyObjects").path(0).path("id").asText());
        assertEquals(1, claims.path("payload").path("loyaltyObjects").path(0).size(), "only the id: the JWT stays small");
        assertEquals(1, google.calls("POST", "loyaltyObject").size(), "the second link needs no request");
        assertEquals(1, google.objects.size());
    }

    @Test
    void stampsUpdateSilentlyAndARewardNotifies() throws Exception {
        try (GoogleWallet w = wallet()) {
            w.syncClass("coffee", "Coffee");
            w.saveLink(card(0, 0));
            assertEquals(GoogleChannel.Update.UPDATED, w.cardChanged(card(1, 0), ChangeKind.STAMP));
            assertEquals(GoogleChannel.Update.NOTIFIED, w.cardChanged(card(0, 1), ChangeKind.REWARD));
            assertEquals(GoogleChannel.Update.UPDATED, w.cardChanged(card(1, 1), ChangeKind.STAMP));
        }
        List<FakeGoogle.Call> patches = google.calls("PATCH", "loyaltyObject/");
        assertEquals(3, patches.size());
        JsonNode stamp = patches.get(0).body();
        assertEquals("1 / 10", stamp.path("loyaltyPoints").path("balance").path("string").asText());
        assertEquals("NOTIFICATION_SETTINGS_FOR_UPDATES_UNSPECIFIED", stamp.path("notifyPreference").asText());
        assertTrue(stamp.path("messages").isMissingNode(), "no message with a stamp");
        JsonNode reward = patches.get(1).body();
        assertEquals("NOTIFY_ON_UPDATE", reward.path("notifyPreference").asText());
        assertEquals(1, reward.path("secondaryLoyaltyPoints").path("balance").path("int").asInt());
        assertEquals("Reward earned", reward.path("messages").path(0).path("header").asText());
        assertEquals("7S1.k1.coffee.ABCDEFGHJKMNPQRS.sig", reward.path("barcode").path("value").asText(), "the barcode stays the card code");
        // the stamp after the reward must switch notifications off again: PATCH keeps what it is not given
        assertEquals("NOTIFICATION_SETTINGS_FOR_UPDATES_UNSPECIFIED", patches.get(2).body().path("notifyPreference").asText());
        assertEquals("NOTIFICATION_SETTINGS_FOR_UPDATES_UNSPECIFIED",
                google.objects.get(ISSUER + ".7s-ABCDEFGHJKMNPQRS").path("notifyPreference").asText());
    }

    @Test
    void atMostThreeNotificationsPerCardInAnyTwentyFourHours() throws Exception {
        try (GoogleWallet w = wallet()) {
            w.syncClass("coffee", "Coffee");
            w.saveLink(card(0, 0));
            List<GoogleChannel.Update> got = new ArrayList<>();
            for (int i = 1; i <= 5; i++) {
                got.add(w.cardChanged(card(0, i), i % 2 == 0 ? ChangeKind.VOUCHER : ChangeKind.REWARD));
                clock.advance(Duration.ofHours(1));
            }
            assertEquals(List.of(GoogleChannel.Update.NOTIFIED, GoogleChannel.Update.NOTIFIED, GoogleChannel.Update.NOTIFIED,
                    GoogleChannel.Update.UPDATED, GoogleChannel.Update.UPDATED), got);
            // 24 h after the first: one notification free again, not two
            clock.set(Instant.parse("2026-12-04T10:00:00Z"));
            assertEquals(GoogleChannel.Update.NOTIFIED, w.cardChanged(card(0, 6), ChangeKind.REWARD));
            assertEquals(GoogleChannel.Update.UPDATED, w.cardChanged(card(0, 7), ChangeKind.REWARD));
            assertEquals(3L, w.counters().get("googleCoalesced"), "two before, one now: " + w.counters());
        }
        long notifying = google.calls("PATCH", "loyaltyObject/").stream()
                .filter(c -> c.body().path("notifyPreference").asText().equals("NOTIFY_ON_UPDATE")).count();
        assertEquals(4, notifying);
    }

    @Test
    void aCardNeverSavedIsNotUpdatedAndKeepsItsNotificationBudget() throws Exception {
        try (GoogleWallet w = wallet()) {
            w.syncClass("coffee", "Coffee");
            for (int i = 0; i < 4; i++) {
                assertEquals(GoogleChannel.Update.NO_PASS, w.cardChanged(card(0, 1), ChangeKind.REWARD));
            }
            w.saveLink(card(0, 1));
            assertEquals(GoogleChannel.Update.NOTIFIED, w.cardChanged(card(0, 2), ChangeKind.REWARD));
        }
    }

    @Test
    void tooManyRequestsAndUnavailableAreRetriedHonouringRetryAfter() throws Exception {
        try (GoogleWallet w = wallet()) {
            w.syncClass("coffee", "Coffee");
            w.saveLink(card(0, 0));
            google.script("PATCH", 429, "7");
            google.script("PATCH", 503, null);
            google.script("PATCH", 500, null);
            assertEquals(GoogleChannel.Update.UPDATED, w.cardChanged(card(3, 0), ChangeKind.STAMP));
        }
        assertEquals(4, google.calls("PATCH", "loyaltyObject/").size(), "three failures, then the success");
        assertEquals(3, waits.size(), "waited before each retry: " + waits);
        assertTrue(waits.get(0).compareTo(Duration.ofSeconds(7)) >= 0, "Retry-After: 7 honoured: " + waits);
        assertTrue(waits.get(1).compareTo(Duration.ofMillis(500)) >= 0 && waits.get(1).compareTo(Duration.ofSeconds(30)) <= 0, "" + waits);
        assertEquals("3 / 10", google.objects.get(ISSUER + ".7s-ABCDEFGHJKMNPQRS").path("loyaltyPoints").path("balance").path("string").asText());
    }

    @Test
    void retryAfterIsReadAsSecondsOrAsADate() {
        Instant now = Instant.parse("2026-12-03T10:00:00Z");
        assertEquals(Duration.ofSeconds(7), WalletApi.retryAfter(java.util.Optional.of(" 7 "), now));
        assertEquals(Duration.ofSeconds(90), WalletApi.retryAfter(java.util.Optional.of("Thu, 03 Dec 2026 10:01:30 GMT"), now));
        assertEquals(Duration.ZERO, WalletApi.retryAfter(java.util.Optional.of("Thu, 03 Dec 2026 09:00:00 GMT"), now), "past");
        assertEquals(Duration.ZERO, WalletApi.retryAfter(java.util.Optional.of("-5"), now));
        assertEquals(Duration.ZERO, WalletApi.retryAfter(java.util.Optional.of("soon"), now));
        assertEquals(Duration.ZERO, WalletApi.retryAfter(java.util.Optional.empty(), now));
        assertTrue(WalletApi.retryAfter(java.util.Optional.of("9223372036854775807"), now).compareTo(WalletApi.MAX_WAIT) > 0);
    }

    @Test
    void aClockSetBackDoesNotHandOutMoreNotifications() throws Exception {
        try (GoogleWallet w = wallet()) {
            w.syncClass("coffee", "Coffee");
            w.saveLink(card(0, 0));
            for (int i = 1; i <= 3; i++) {
                assertEquals(GoogleChannel.Update.NOTIFIED, w.cardChanged(card(0, i), ChangeKind.REWARD));
            }
            clock.advance(Duration.ofHours(-6)); // NTP corrects a clock that ran ahead
            assertEquals(GoogleChannel.Update.UPDATED, w.cardChanged(card(0, 4), ChangeKind.REWARD));
            clock.advance(Duration.ofHours(30)); // 24 h after the recorded times: the window counts from them
            assertEquals(GoogleChannel.Update.NOTIFIED, w.cardChanged(card(0, 5), ChangeKind.REWARD));
        }
    }

    @Test
    void retriesEndAndTheCallerIsToldToTryLater() throws Exception {
        try (GoogleWallet w = wallet()) {
            w.syncClass("coffee", "Coffee");
            w.saveLink(card(0, 0));
            for (int i = 0; i < WalletApi.MAX_ATTEMPTS; i++) {
                google.script("PATCH", 503, null);
            }
            GoogleWalletException e = assertThrows(GoogleWalletException.class, () -> w.cardChanged(card(0, 1), ChangeKind.REWARD));
            assertTrue(e.getMessage().contains("failed 5 times; last: HTTP 503"), e.getMessage());
            // a Retry-After beyond what a call waits: give up at once, the queue comes back later
            google.script("PATCH", 429, "3600");
            e = assertThrows(GoogleWalletException.class, () -> w.cardChanged(card(0, 1), ChangeKind.REWARD));
            assertTrue(e.getMessage().contains("asks to wait 3600 s"), e.getMessage());
            // the failed reward did not use up a notification: three are still left
            for (int i = 0; i < 3; i++) {
                assertEquals(GoogleChannel.Update.NOTIFIED, w.cardChanged(card(0, 1), ChangeKind.REWARD));
            }
        }
        google.script("PATCH", 400, null);
        try (GoogleWallet w = wallet()) {
            GoogleWalletException e = assertThrows(GoogleWalletException.class, () -> w.cardChanged(card(0, 1), ChangeKind.STAMP));
            assertTrue(e.getMessage().contains("answered HTTP 400"), "a 400 is not retried: " + e.getMessage());
        }
    }

    @Test
    void theTokenIsCachedAndFetchedAgainBeforeItExpires() throws Exception {
        try (GoogleWallet w = wallet()) {
            w.syncClass("coffee", "Coffee");
            w.saveLink(card(0, 0));
            for (int i = 1; i <= 5; i++) {
                w.cardChanged(card(i, 0), ChangeKind.STAMP);
            }
            assertEquals(1, google.tokenRequests.get(), "one token for all calls");
            clock.advance(Duration.ofMinutes(54));
            w.cardChanged(card(6, 0), ChangeKind.STAMP);
            assertEquals(1, google.tokenRequests.get(), "still valid for 6 minutes");
            clock.advance(Duration.ofMinutes(2));
            w.cardChanged(card(7, 0), ChangeKind.STAMP);
            assertEquals(2, google.tokenRequests.get(), "refreshed 4 minutes before expiry");
            clock.advance(Duration.ofHours(3));
            w.cardChanged(card(8, 0), ChangeKind.STAMP);
            assertEquals(3, google.tokenRequests.get(), "long expired: fetched again");
        }
        synchronized (google.grants) {
            assertEquals(3, google.grants.size());
            assertEquals(clock.instant().getEpochSecond(), google.grants.get(2).path("iat").asLong());
        }
    }

    @Test
    void tenProgramsSyncedAtOnceUseOneToken() throws Exception {
        try (GoogleWallet w = wallet()) {
            ExecutorService pool = Executors.newFixedThreadPool(10);
            List<Future<GoogleWallet.ClassSync>> done = new ArrayList<>();
            for (int i = 0; i < 10; i++) {
                String program = "p" + i;
                done.add(pool.submit(() -> w.syncClass(program, "Program " + program)));
            }
            for (Future<GoogleWallet.ClassSync> f : done) {
                assertEquals(GoogleWallet.ClassSync.CREATED, f.get());
            }
            pool.shutdown();
        }
        assertEquals(1, google.tokenRequests.get());
        assertEquals(10, google.classes.size());
    }

    @Test
    void aTokenTheApiNoLongerTakesIsReplacedOnce() throws Exception {
        try (GoogleWallet w = wallet()) {
            w.syncClass("coffee", "Coffee");
            w.saveLink(card(0, 0));
            google.script("PATCH", 401, null);
            assertEquals(GoogleChannel.Update.UPDATED, w.cardChanged(card(1, 0), ChangeKind.STAMP));
            assertEquals(2, google.tokenRequests.get());
        }
    }

    @Test
    void aKeyGoogleDoesNotKnowIsRefusedWithAnExplanation() throws Exception {
        KeyPairGenerator g = KeyPairGenerator.getInstance("RSA");
        g.initialize(2048);
        google.writeServiceAccount(dir, g.generateKeyPair());
        GoogleWalletSettings s = settings();
        try (GoogleWallet w = new GoogleWallet(s, ServiceAccount.load(s.serviceAccountFile()), http, clock, waits::add, () -> 0.5, 20)) {
            GoogleWalletException e = assertThrows(GoogleWalletException.class, () -> w.syncClass("coffee", "Coffee"));
            assertTrue(e.getMessage().contains("refused the service account " + FakeGoogle.EMAIL + ": HTTP 400 invalid_grant Invalid JWT Signature."),
                    e.getMessage());
        }
        assertTrue(google.classes.isEmpty());
    }

    @Test
    void noMoreThanTwentyRequestsInAnySecondUnderABurst() throws Exception {
        int n = 70;
        try (GoogleWallet w = wallet()) {
            w.syncClass("coffee", "Coffee");
            w.saveLink(card(0, 0));
            Thread.sleep(1_100); // the set-up calls are out of the window counted below
            long from = System.nanoTime();
            ExecutorService pool = Executors.newFixedThreadPool(12);
            List<Future<GoogleChannel.Update>> done = new ArrayList<>();
            for (int i = 0; i < n; i++) {
                int stamps = i % 10;
                done.add(pool.submit(() -> w.cardChanged(card(stamps, 0), ChangeKind.STAMP)));
            }
            for (Future<GoogleChannel.Update> f : done) {
                assertEquals(GoogleChannel.Update.UPDATED, f.get());
            }
            pool.shutdown();
            List<Long> arrivals = google.calls("PATCH", "loyaltyObject/").stream().map(FakeGoogle.Call::nanos)
                    .filter(t -> t >= from).sorted().toList();
            assertEquals(n, arrivals.size());
            // every window of one second, starting at each arrival
            int worst = 0;
            for (int i = 0; i < arrivals.size(); i++) {
                int j = i;
                while (j < arrivals.size() && arrivals.get(j) - arrivals.get(i) < 1_000_000_000L) {
                    j++;
                }
                worst = Math.max(worst, j - i);
            }
            // slots are 50 ms apart; a thread the busy test machine runs late can still bunch with the next ones
            assertTrue(worst <= 26, "at most 20 a second (+ slack for scheduling), saw " + worst);
            double seconds = (arrivals.get(n - 1) - arrivals.get(0)) / 1e9;
            assertTrue(seconds >= (n - 25) / 20.0, n + " requests in " + seconds + " s");
        }
    }

    @Test
    void countersSayWhatHappened() throws Exception {
        try (GoogleWallet w = wallet()) {
            w.syncClass("coffee", "Coffee");
            w.cardChanged(card(1, 0), ChangeKind.STAMP);
            w.saveLink(card(1, 0));
            w.cardChanged(card(2, 0), ChangeKind.STAMP);
            w.cardChanged(card(0, 1), ChangeKind.REWARD);
            Map<String, Long> c = new TreeMap<>(w.counters());
            assertEquals(Map.of("googleCoalesced", 0L, "googleFailed", 0L, "googleInserted", 1L, "googleNoPass", 1L,
                    "googleNotified", 1L, "googleUpdated", 1L), c);
            assertFalse(w.insertObject(card(0, 1)), "exists already");
        }
        try (GoogleWallet restarted = wallet()) {
            restarted.saveLink(card(4, 1));
            assertEquals(3, google.calls("POST", "loyaltyObject").size(), "after a restart the object is looked up again");
            assertEquals("4 / 10", google.objects.get(ISSUER + ".7s-ABCDEFGHJKMNPQRS").path("loyaltyPoints").path("balance")
                    .path("string").asText(), "and brought up to date (409, then PATCH)");
        }
    }
}
