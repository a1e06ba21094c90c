package app.sevenstamp.autopilot.sink.wallet.google;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import app.sevenstamp.autopilot.protocol.testing.MutableClock;
import java.net.http.HttpClient;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The token cache under concurrency and failure, against the fake's verifying token endpoint. */
class AccessTokensTest {
    @TempDir
    Path dir;
    FakeGoogle google;
    AccessTokens tokens;

    @BeforeEach
    void start() throws Exception {
        google = new FakeGoogle();
        ServiceAccount account = ServiceAccount.load(google.writeServiceAccount(dir, google.keys));
        tokens = new AccessTokens(account, google.tokenUrl(), HttpClient.newHttpClient(),
                new MutableClock(Instant.parse("2026-12-03T10:00:00Z")));
    }

    @AfterEach
    void stop() {
        google.close();
    }

    @Test
    void threadsAskingAtOnceShareOneFetch() throws Exception {
        google.tokenDelayMillis = 300;
        ExecutorService pool = Executors.newFixedThreadPool(10);
        CountDownLatch go = new CountDownLatch(1);
        List<Future<String>> got = new ArrayList<>();
        for (int i = 0; i < 10; i++) {
            got.add(pool.submit(() -> {
                go.await();
                return tokens.get();
            }));
        }
        go.countDown();
        for (Future<String> f : got) {
            assertEquals("ya29.fake-1", f.get());
        }
        pool.shutdown();
        assertEquals(1, google.tokenRequests.get());
    }

    @Test
    void aFailedFetchIsNotCachedAndTheNextCallTriesAgain() {
        google.tokenStatus = 503;
        GoogleWalletException e = assertThrows(GoogleWalletException.class, tokens::get);
        assertTrue(e.getMessage().contains("HTTP 503"), e.getMessage());
        google.tokenStatus = 200;
        assertEquals("ya29.fake-2", tokens.get());
        assertEquals("ya29.fake-2", tokens.get());
        assertEquals(2, google.tokenRequests.get());
    }
}
