package app.sevenstamp.autopilot.sink.update;

import app.sevenstamp.autopilot.sink.config.SinkConfig;
import app.sevenstamp.autopilot.sink.fleet.SinkApiClient;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.PrintStream;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * {@code autopilot-sink update publish|rollout|status}: through the running sink's HTTP API with the admin token, as
 * {@code devices} does. {@code publish} reads the .deb here and sends its SHA-256 and size, never the file: the
 * operator serves it where the boxes can download it ({@code --url}).
 */
public final class UpdateCli {
    public static final String USAGE = String.join("\n",
            "  update key --config FILE",
            "      print the update public key, the value of update.trustedKey in every box's gateway.properties",
            "  update publish --deb FILE --version V --url URL | rollout --version V --stage one:ID|percent:N|all | status"
                    + " --config FILE [--url-api URL]",
            "      publish a gateway .deb (served at URL), roll it out in stages, and see each box's state");
    private static final ObjectMapper JSON = new ObjectMapper();

    private final SinkApiClient api;
    private final PrintStream out;

    public UpdateCli(SinkConfig config, String apiUrl, PrintStream out) throws IOException {
        this.api = new SinkApiClient(config, apiUrl, "--url-api");
        this.out = out;
    }

    public int publish(Path deb, String version, String url) throws IOException, InterruptedException {
        if (!Files.isRegularFile(deb)) {
            throw new IllegalArgumentException("--deb " + deb + ": no such file");
        }
        java.security.MessageDigest d;
        try {
            d = java.security.MessageDigest.getInstance("SHA-256");
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
        try (var in = Files.newInputStream(deb)) {
            byte[] buf = new byte[64 * 1024];
            for (int n; (n = in.read(buf)) > 0; ) {
                d.update(buf, 0, n);
            }
        }
        Map<String, Object> body = new LinkedHashMap<>();
        body.put("version", version);
        body.put("url", url);
        body.put("sha256", HexFormat.of().formatHex(d.digest()));
        body.put("size", Files.size(deb));
        JsonNode r = call("POST", "/api/v1/updates", body);
        out.println("published " + r.path("version").asText() + " sha256 " + r.path("sha256").asText() + " size "
                + r.path("size").asLong() + " at " + r.path("url").asText());
        return 0;
    }

    public int rollout(String version, String stage) throws IOException, InterruptedException {
        JsonNode r = call("POST", "/api/v1/updates/" + URLEncoder.encode(version, StandardCharsets.UTF_8) + "/rollout",
                Map.of("stage", stage));
        out.println("version " + version + " stage " + stage + ": " + r.path("added").size() + " box(es) added"
                + (r.path("added").isEmpty() ? "" : ": " + String.join(" ", JSON.convertValue(r.path("added"), String[].class))));
        return 0;
    }

    public int status() throws IOException, InterruptedException {
        JsonNode r = call("GET", "/api/v1/updates", null);
        for (JsonNode v : r.path("releases")) {
            out.println("release " + v.path("version").asText() + "\t" + v.path("size").asLong() + " bytes\t" + v.path("url").asText());
        }
        for (JsonNode b : r.path("boxes")) {
            out.println(b.path("deviceId").asText() + "\t" + b.path("version").asText() + "\t" + b.path("state").asText() + "\t"
                    + b.path("stage").asText() + (b.path("detail").isTextual() ? "\t" + b.path("detail").asText() : ""));
        }
        return 0;
    }

    private JsonNode call(String method, String path, Object body) throws IOException, InterruptedException {
        return api.call(method, path, body);
    }
}
