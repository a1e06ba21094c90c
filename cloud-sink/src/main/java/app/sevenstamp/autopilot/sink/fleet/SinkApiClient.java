package app.sevenstamp.autopilot.sink.fleet;

import app.sevenstamp.autopilot.sink.config.SinkConfig;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.net.ConnectException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;

/**
 * How a CLI command talks to the running sink: its HTTP API with the operator's token, JSON in and out, a
 * refusal as an exception carrying the problem document's detail. One for every command that needs the
 * running sink ({@code devices}, {@code claims}, {@code update}).
 */
public final class SinkApiClient {
    private static final ObjectMapper JSON = new ObjectMapper();

    private final URI base;
    private final String token;
    private final String urlOption;
    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

    /**
     * @param url       the API's base URL as the operator gave it, or null for the configured HTTP address
     * @param urlOption the command's option that sets {@code url}, named when the sink cannot be reached
     */
    public SinkApiClient(SinkConfig config, String url, String urlOption) throws IOException {
        String host = config.httpHost().equals("0.0.0.0") ? "127.0.0.1" : config.httpHost();
        this.base = URI.create(url != null ? url.replaceAll("/+$", "") : "http://" + host + ":" + config.httpPort());
        this.token = AdminToken.forClient(config);
        this.urlOption = urlOption;
    }

    /** One call; {@code body} (sent as JSON) may be null. @throws IllegalArgumentException when the sink refuses */
    public JsonNode call(String method, String path, Object body) throws IOException, InterruptedException {
        HttpRequest.Builder b = HttpRequest.newBuilder(base.resolve(path)).timeout(Duration.ofSeconds(15))
                .header("Authorization", "Bearer " + token);
        if (body != null) {
            b.header("Content-Type", "application/json").method(method, HttpRequest.BodyPublishers.ofByteArray(JSON.writeValueAsBytes(body)));
        } else {
            b.method(method, HttpRequest.BodyPublishers.noBody());
        }
        HttpResponse<byte[]> r;
        try {
            r = http.send(b.build(), HttpResponse.BodyHandlers.ofByteArray());
        } catch (ConnectException e) {
            throw new IOException("cannot reach the sink at " + base + " (is `serve` running? use " + urlOption
                    + " if http.port is 0)", e);
        }
        JsonNode n = r.body().length == 0 ? JSON.createObjectNode() : JSON.readTree(r.body());
        if (r.statusCode() >= 400) {
            throw new IllegalArgumentException("sink answered " + r.statusCode() + ": " + n.path("detail").asText(""));
        }
        return n;
    }
}
