package app.sevenstamp.autopilot.gateway.e2e;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import app.sevenstamp.autopilot.sink.SinkServer;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * The end of every fault-injection test: the sink counted exactly the scans the gateway confirmed
 * (its ACCEPTED and ACCEPTED_OFFLINE lines), per card, with no sequence gap, and still so a moment later.
 */
final class ConfirmedStamps {
    private final HttpClient http = HttpClient.newHttpClient();
    private final ObjectMapper json = new ObjectMapper();
    private final SinkServer sink;
    private final String device;
    private final Duration wait;

    ConfirmedStamps(SinkServer sink, String device, Duration wait) {
        this.sink = sink;
        this.device = device;
        this.wait = wait;
    }

    /** Confirmed scans per card id from the gateway's stdout: ACCEPTED and ACCEPTED_OFFLINE lines. */
    static void tally(List<String> lines, Map<String, Integer> out) {
        for (String line : lines) {
            if (line.startsWith("ACCEPTED")) {
                int at = line.indexOf("card=");
                String card = line.substring(at + 5, line.indexOf(' ', at));
                out.merge(card, 1, Integer::sum);
            }
        }
    }

    static int total(Map<String, Integer> confirmed) {
        return confirmed.values().stream().mapToInt(Integer::intValue).sum();
    }

    /**
     * Per card the sink's count equals the confirmed scans; with {@code unconfirmed} = N (a kill right after
     * a group's fsync, N at most one burst) the cards have exactly N stamps more in all, none fewer.
     */
    void awaitMatches(Map<String, Integer> confirmed, int unconfirmed) throws IOException, InterruptedException {
        await().atMost(wait).pollInterval(Duration.ofMillis(250)).untilAsserted(() -> assertMatches(confirmed,
                counts(confirmed.keySet()), unconfirmed));
        // the same, a moment later: nothing counted twice by a late redelivery
        await().pollDelay(Duration.ofSeconds(2)).atMost(wait).untilAsserted(() -> assertMatches(confirmed,
                counts(confirmed.keySet()), unconfirmed));
        JsonNode gaps = get("/api/v1/devices/" + device + "/gaps");
        assertEquals(0, gaps.get("missing").asInt(), "no sequence gap: " + gaps);
        assertEquals(total(confirmed) + unconfirmed, gaps.get("lastSeq").asInt(),
                "numbers 1..N, each stored scan one number");
    }

    private static void assertMatches(Map<String, Integer> confirmed, Map<String, Integer> counted, int unconfirmed) {
        if (unconfirmed == 0) {
            assertEquals(confirmed, counted);
            return;
        }
        int extra = 0;
        for (Map.Entry<String, Integer> e : confirmed.entrySet()) {
            int diff = counted.getOrDefault(e.getKey(), 0) - e.getValue();
            assertTrue(diff >= 0 && diff <= unconfirmed, "card " + e.getKey() + " counted " + counted.get(e.getKey())
                    + ", confirmed " + e.getValue());
            extra += diff;
        }
        assertEquals(unconfirmed, extra, "counted " + counted + " confirmed " + confirmed);
    }

    /** Stamps the sink counted per card: the current round plus the completed ones (no redeems in these tests). */
    Map<String, Integer> counts(Iterable<String> cardIds) throws IOException, InterruptedException {
        Map<String, Integer> out = new TreeMap<>();
        for (String id : cardIds) {
            JsonNode card = get("/api/v1/cards/" + id);
            if (card != null && card.has("stamps")) {
                out.put(id, card.get("stamps").asInt() + card.get("rewardsAvailable").asInt() * card.get("stampsRequired").asInt());
            }
        }
        return out;
    }

    JsonNode get(String path) throws IOException, InterruptedException {
        HttpResponse<String> response = http.send(HttpRequest.newBuilder(
                URI.create("http://127.0.0.1:" + sink.httpPort() + path)).build(), HttpResponse.BodyHandlers.ofString());
        return response.statusCode() == 200 ? json.readTree(response.body()) : null;
    }
}
