package app.sevenstamp.autopilot.gateway.e2e;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * What the sink says over its public HTTP API, read as any client would: the stamps per card and the
 * device's sequence numbers ({@code GET /api/v1/devices/{id}/gaps}). Nothing here reads its database.
 */
final class SinkApi {
    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
    private final ObjectMapper json = new ObjectMapper();
    private final String device;

    SinkApi(String device) {
        this.device = device;
    }

    /** Stamps per card (the current round plus the completed rounds; no reward is redeemed in these tests). */
    StampAudit.SinkView read(URI base, Collection<String> cards) throws IOException, InterruptedException {
        Map<String, Integer> counted = new TreeMap<>();
        for (String id : cards) {
            JsonNode card = get(base, "/api/v1/cards/" + id);
            if (card != null) {
                counted.put(id, card.get("stamps").asInt() + card.get("rewardsAvailable").asInt()
                        * card.get("stampsRequired").asInt());
            }
        }
        JsonNode gaps = get(base, "/api/v1/devices/" + device + "/gaps");
        if (gaps == null) {
            throw new IOException("GET /api/v1/devices/" + device + "/gaps did not answer 200");
        }
        List<StampAudit.Gap> open = new ArrayList<>();
        gaps.get("gaps").forEach(g -> open.add(new StampAudit.Gap(g.get("from").asLong(), g.get("to").asLong())));
        return new StampAudit.SinkView(counted, gaps.get("lastSeq").isNull() ? 0 : gaps.get("lastSeq").asLong(), open);
    }

    /** The device's last sequence number at the sink, 0 when unknown. */
    long lastSeq(URI base) throws IOException, InterruptedException {
        JsonNode gaps = get(base, "/api/v1/devices/" + device + "/gaps");
        return gaps == null || gaps.get("lastSeq").isNull() ? 0 : gaps.get("lastSeq").asLong();
    }

    /** The body of a 200, null for 404 (a card without stamps); any other status is an error. */
    private JsonNode get(URI base, String path) throws IOException, InterruptedException {
        HttpResponse<String> response = http.send(HttpRequest.newBuilder(base.resolve(path)).timeout(Duration.ofSeconds(10))
                .build(), HttpResponse.BodyHandlers.ofString());
        if (response.statusCode() == 404) {
            return null;
        }
        if (response.statusCode() != 200) {
            throw new IOException("GET " + path + ": " + response.statusCode() + " " + response.body());
        }
        return json.readTree(response.body());
    }
}
