package app.sevenstamp.autopilot.sink;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import app.sevenstamp.autopilot.protocol.testing.Vectors;
import app.sevenstamp.autopilot.sink.testing.TestSink;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Issue 12, item 1: one connection that sent "GET /healthz HTTP/1.1\r\n" and then nothing froze the
 * whole HTTP API of the JDK's server. Here 200 such connections (half silent, half dripping a header
 * line every second, from four client addresses) are held open while the health route and a card's
 * JSON are asked 200 times each; both must answer, with a p99 under 100 ms. Then the header timeout
 * must close the attackers' connections, and one address must not hold more than its share.
 */
class HttpUnderSiegeIT {
    private static final String KEY = "pos-key-for-shop-1-0123456789abcdef";
    private static final String CARD = "ABCDEFGHJKMNPQRS";

    @TempDir
    Path dir;
    private final List<Socket> attackers = Collections.synchronizedList(new ArrayList<>());
    private final ScheduledExecutorService drip = Executors.newSingleThreadScheduledExecutor();
    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

    @AfterEach
    void closeAttackers() throws IOException {
        drip.shutdownNow();
        for (Socket s : attackers) {
            s.close();
        }
    }

    private SinkServer start(String key, String value) {
        return TestSink.in(dir).vectorKey().program("coffee", 10).set("pos.shop-1.apiKey", KEY).set(key, value).start();
    }

    /** A client at {@code from} that sent the start of a request and then goes quiet (or drips). */
    private Socket attacker(String from, int port, boolean dripping) throws IOException {
        Socket s = new Socket();
        s.bind(new InetSocketAddress(from, 0));
        s.connect(new InetSocketAddress("127.0.0.1", port), 2_000);
        OutputStream out = s.getOutputStream();
        out.write("GET /healthz HTTP/1.1\r\n".getBytes(StandardCharsets.US_ASCII));
        out.flush();
        attackers.add(s);
        if (dripping) {
            drip.scheduleWithFixedDelay(() -> {
                try {
                    out.write("X-Slow: 1\r\n".getBytes(StandardCharsets.US_ASCII));
                    out.flush();
                } catch (IOException closed) {
                    throw new IllegalStateException("closed", closed); // ends this drip
                }
            }, 1, 1, TimeUnit.SECONDS);
        }
        return s;
    }

    /** True while the server has not closed the socket (a read times out instead of ending). */
    private static boolean open(Socket s) throws IOException {
        s.setSoTimeout(20);
        InputStream in = s.getInputStream();
        try {
            return in.read() != -1;
        } catch (SocketTimeoutException stillOpen) {
            return true;
        } catch (IOException reset) {
            return false;
        }
    }

    private static int openOf(List<Socket> sockets) throws IOException {
        int open = 0;
        for (Socket s : sockets) {
            open += open(s) ? 1 : 0;
        }
        return open;
    }

    private long millisFor(URI uri, int expectedStatus) throws Exception {
        long t0 = System.nanoTime();
        HttpResponse<String> r = http.send(HttpRequest.newBuilder(uri).timeout(Duration.ofSeconds(5)).build(),
                HttpResponse.BodyHandlers.ofString());
        long ms = (System.nanoTime() - t0) / 1_000_000;
        assertEquals(expectedStatus, r.statusCode(), uri + ": " + r.body());
        return ms;
    }

    private static long p99(List<Long> millis) {
        List<Long> sorted = new ArrayList<>(millis);
        Collections.sort(sorted);
        return sorted.get((int) Math.ceil(sorted.size() * 0.99) - 1);
    }

    @Test
    void twoHundredSilentOrDrippingConnectionsDoNotSlowTheOthers() throws Exception {
        // a header timeout far beyond the measure: on a loaded machine the 200 connections and 400 requests take
        // several seconds, and every attacker must still be connected when the last request is answered
        try (SinkServer sink = start("http.headerTimeout", "120s")) {
            int port = sink.httpPort();
            HttpResponse<String> stamp = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/api/v1/stamps"))
                    .header("Authorization", "Bearer " + KEY).header("Idempotency-Key", "siege-1")
                    .POST(HttpRequest.BodyPublishers.ofString("{\"cardCode\":\"" + Vectors.cardText("valid") + "\"}")).build(),
                    HttpResponse.BodyHandlers.ofString());
            assertEquals(200, stamp.statusCode(), stamp.body());

            for (int i = 0; i < 200; i++) {
                attacker("127.0.0." + (2 + i % 4), port, i % 2 == 1);
            }
            URI health = URI.create("http://127.0.0.1:" + port + "/healthz");
            URI card = URI.create("http://127.0.0.1:" + port + "/api/v1/cards/" + CARD);
            millisFor(health, 200); // the client's own connection set up outside the measure
            List<Long> healthMs = new ArrayList<>();
            List<Long> cardMs = new ArrayList<>();
            for (int i = 0; i < 200; i++) {
                healthMs.add(millisFor(health, 200));
                cardMs.add(millisFor(card, 200));
            }
            int stillOpen = 0;
            for (Socket s : List.copyOf(attackers)) {
                stillOpen += open(s) ? 1 : 0;
            }
            assertEquals(200, stillOpen, "the measure ran while all 200 attackers were connected");
            System.out.printf("under siege (200 held connections): healthz p99 %d ms, card GET p99 %d ms%n", p99(healthMs),
                    p99(cardMs));
            assertTrue(p99(healthMs) < 100, "healthz p99 " + p99(healthMs) + " ms: " + healthMs);
            assertTrue(p99(cardMs) < 100, "card GET p99 " + p99(cardMs) + " ms: " + cardMs);

            millisFor(health, 200); // and the server still answers
        }
    }

    @Test
    void theHeaderTimeoutEndsConnectionsThatNeverSendAWholeRequestHead() throws Exception {
        try (SinkServer sink = start("http.headerTimeout", "2s")) {
            int port = sink.httpPort();
            for (int i = 0; i < 40; i++) {
                attacker("127.0.0." + (2 + i % 4), port, i % 2 == 1);
            }
            await("silent and dripping connections are closed after http.headerTimeout").atMost(Duration.ofSeconds(30))
                    .pollDelay(Duration.ofMillis(500)).pollInterval(Duration.ofMillis(500))
                    .until(() -> openOf(List.copyOf(attackers)) == 0);
            millisFor(URI.create("http://127.0.0.1:" + port + "/healthz"), 200); // and the server still answers
        }
    }

    @Test
    void oneAddressHoldsAtMostItsShareOfConnections() throws Exception {
        try (SinkServer sink = start("http.maxConnectionsPerClient", "20")) {
            int port = sink.httpPort();
            List<Socket> mine = new ArrayList<>();
            for (int i = 0; i < 50; i++) {
                mine.add(attacker("127.0.0.9", port, false));
            }
            // within the header timeout (10 s), which would close the 20 it keeps as well
            await("the server closes the connections of 127.0.0.9 beyond http.maxConnectionsPerClient=20")
                    .atMost(Duration.ofSeconds(5)).until(() -> openOf(mine) <= 20);
            assertEquals(20, openOf(mine), "one address keeps http.maxConnectionsPerClient connections; the rest are closed");
            millisFor(URI.create("http://127.0.0.1:" + port + "/healthz"), 200); // another address is still served

            // once it lets go of them, the address is served again (CI, 4 Dec: a sink counted connections its
            // clients had closed, and after 64 in all refused 127.0.0.1 for good)
            for (Socket s : mine) {
                s.close();
            }
            await().atMost(Duration.ofSeconds(10)).until(() -> answered("127.0.0.9", port));
        }
    }

    /** An address opening and closing connections one after another, as a poller or a proxy does, is never refused. */
    @Test
    void connectionsThatEndedNoLongerCount() throws Exception {
        try (SinkServer sink = start("http.maxConnectionsPerClient", "5")) {
            int port = sink.httpPort();
            for (int i = 1; i <= 30; i++) {
                assertTrue(answered("127.0.0.7", port), "connection " + i + " of one address, each closed by the client"
                        + " after its answer, with http.maxConnectionsPerClient=5");
            }
            for (int i = 1; i <= 30; i++) {
                try (Socket s = new Socket()) {
                    s.bind(new InetSocketAddress("127.0.0.8", 0));
                    s.connect(new InetSocketAddress("127.0.0.1", port), 2_000);
                    s.getOutputStream().write("GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
                            .getBytes(StandardCharsets.US_ASCII));
                    s.setSoTimeout(5_000);
                    String answer = new String(s.getInputStream().readAllBytes(), StandardCharsets.US_ASCII);
                    assertTrue(answer.startsWith("HTTP/1.1 200"), "connection " + i + ", closed by the server: " + answer);
                }
            }
        }
    }

    /** One request on a new connection from {@code from}: true if a 200 came back; the client then closes. */
    private static boolean answered(String from, int port) throws IOException {
        try (Socket s = new Socket()) {
            s.bind(new InetSocketAddress(from, 0));
            s.connect(new InetSocketAddress("127.0.0.1", port), 2_000);
            s.getOutputStream().write("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
            s.setSoTimeout(5_000);
            byte[] head = new byte[12];
            int n = s.getInputStream().readNBytes(head, 0, head.length);
            return new String(head, 0, n, StandardCharsets.US_ASCII).equals("HTTP/1.1 200");
        } catch (IOException refused) {
            return false;
        }
    }
}
