package app.sevenstamp.autopilot.sink.fleet;

import app.sevenstamp.autopilot.protocol.support.ConfigException;
import app.sevenstamp.autopilot.sink.config.SinkConfig;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.net.ConnectException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;

/**
 * How a CLI command talks to the running sink: its HTTP API with the operator's token, JSON in and out, a
 * refusal as an exception carrying the problem document's detail. One for every command that needs the
 * running sink ({@code devices}, {@code claims}, {@code update}, {@code ledger}, {@code vouchers},
 * {@code operators}).
 */
public final class SinkApiClient {
    private static final ObjectMapper JSON = new ObjectMapper();

    private final URI base;
    private final String token;
    private final String urlOption;
    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

    /**
     * @param url       the API's base URL as the operator gave it, or null for the configured HTTP address
     * @param urlOption the command's option that sets {@code url}, named when the sink cannot be reached; null
     *                  for a command without one
     * @throws ConfigException when there is no token to send: none configured and the token file unreadable
     */
    public SinkApiClient(SinkConfig config, String url, String urlOption) {
        String host = config.httpHost().equals("0.0.0.0") ? "127.0.0.1" : config.httpHost();
        this.base = URI.create(url != null ? url.replaceAll("/+$", "") : "http://" + host + ":" + config.httpPort());
        try {
            this.token = AdminToken.forClient(config);
        } catch (IOException e) {
            throw new ConfigException("admin.token: not set, and admin.tokenFile " + config.adminTokenFile()
                    + " cannot be read (" + e.getMessage() + "); run this on the sink's machine with its config file");
        }
        this.urlOption = urlOption;
    }

    /** The sink's answer to one call: the status, the body as sent and parsed (an empty object when empty or not JSON). */
    public record Answer(int status, String text, JsonNode json) {
        public boolean ok() {
            return status >= 200 && status < 300;
        }

        /** The problem document's detail, or the body itself. */
        public String detail() {
            return json.path("detail").asText(text);
        }
    }

    /** One call; {@code body} (sent as JSON) may be null. @throws IllegalArgumentException when the sink refuses */
    public JsonNode call(String method, String path, Object body) throws IOException, InterruptedException {
        Answer a = send(method, path, body);
        if (!a.ok()) {
            throw new IllegalArgumentException("sink answered " + a.status() + ": " + a.json().path("detail").asText(""));
        }
        return a.json();
    }

    /** One call, whatever the status, for commands whose exit code depends on it. */
    public Answer send(String method, String path, Object body) throws IOException, InterruptedException {
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
            throw new IOException("cannot reach the sink at " + base + " (is `serve` running with this config?"
                    + (urlOption == null ? ")" : " use " + urlOption + " if http.port is 0)"), e);
        }
        String text = new String(r.body(), StandardCharsets.UTF_8);
        JsonNode json;
        try {
            json = text.isEmpty() ? JSON.createObjectNode() : JSON.readTree(text);
        } catch (IOException notJson) {
            json = JSON.createObjectNode(); // a proxy's HTML error page: the text is kept for the message
        }
        return new Answer(r.statusCode(), text, json);
    }
}
