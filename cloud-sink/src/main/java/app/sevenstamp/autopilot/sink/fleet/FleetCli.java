package app.sevenstamp.autopilot.sink.fleet;

import app.sevenstamp.autopilot.sink.config.SinkConfig;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.PrintStream;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * {@code devices ...} and {@code claims ...}: the running sink holds the H2 file open, so these talk to
 * its fleet HTTP API with the admin token from {@code admin.tokenFile}.
 */
public final class FleetCli {
    /** How long {@code devices cmd} waits for the gateway's acknowledgement. */
    static final Duration ACK_WAIT = Duration.ofSeconds(10);
    private static final ObjectMapper JSON = new ObjectMapper();

    private final SinkApiClient api;
    private final PrintStream out;

    public FleetCli(SinkConfig config, String url, PrintStream out) throws IOException {
        this.api = new SinkApiClient(config, url, "--url");
        this.out = out;
    }

    /** @return exit status: 0 ok, 1 the sink refused or the command failed on the device */
    public int devices(List<String> words) throws IOException, InterruptedException {
        String sub = words.isEmpty() ? "" : words.get(0);
        switch (sub) {
            case "list" -> {
                for (JsonNode d : call("GET", "/api/v1/devices", null)) {
                    out.println(d.path("deviceId").asText() + "\t" + (!d.path("revokedAt").isNull() && !d.path("revokedAt").isMissingNode() ? "revoked"
                            : d.path("online").asBoolean() ? "online" : "offline")
                            + "\t" + d.path("location").asText("-") + "\tconfig " + d.path("configVersion").asLong()
                            + "/" + d.path("desiredVersion").asLong() + "\t" + rules(d) + "\t" + cancels(d)
                            + "\tlast seen " + d.path("lastSeenAt").asText("never"));
                }
                return 0;
            }
            case "show" -> {
                out.println(JSON.writerWithDefaultPrettyPrinter().writeValueAsString(
                        call("GET", "/api/v1/devices/" + arg(words, 1, "ID"), null)));
                return 0;
            }
            case "config" -> {
                if (words.size() < 4 || !words.get(1).equals("set")) {
                    throw new IllegalArgumentException("usage: devices config set ID key=value [key=value...]");
                }
                Map<String, String> changes = new LinkedHashMap<>();
                for (String kv : words.subList(3, words.size())) {
                    int eq = kv.indexOf('=');
                    if (eq <= 0) {
                        throw new IllegalArgumentException("'" + kv + "' is not key=value");
                    }
                    changes.put(kv.substring(0, eq), kv.substring(eq + 1));
                }
                JsonNode d = call("POST", "/api/v1/devices/" + words.get(2) + "/config", changes);
                out.println(d.path("deviceId").asText() + " desired config version " + d.path("desiredVersion").asLong());
                return 0;
            }
            case "revoke" -> {
                JsonNode d = call("POST", "/api/v1/devices/" + arg(words, 1, "ID") + "/revoke", null);
                out.println(d.path("deviceId").asText() + " revoked at " + d.path("revokedAt").asText()
                        + "; its broker credentials are deleted; provisioning it again needs a new claim");
                return 0;
            }
            case "approve" -> {
                // the sink's route calls FleetService.approveReprovisioning
                JsonNode d = call("POST", "/api/v1/devices/" + arg(words, 1, "ID") + "/approve", null);
                out.println(d.path("deviceId").asText() + " may provision once more without its device key, until "
                        + d.path("reprovisionApprovedUntil").asText() + "; the key it then sends is pinned");
                return 0;
            }
            case "cmd" -> {
                String id = arg(words, 1, "ID");
                Map<String, String> body = new LinkedHashMap<>();
                body.put("command", arg(words, 2, "COMMAND"));
                if (words.size() > 3) {
                    body.put("argument", words.get(3));
                }
                String commandId = call("POST", "/api/v1/devices/" + id + "/commands", body).path("commandId").asText();
                long deadline = System.nanoTime() + ACK_WAIT.toNanos();
                while (System.nanoTime() < deadline) {
                    JsonNode c = call("GET", "/api/v1/devices/" + id + "/commands/" + commandId, null);
                    if (!c.path("ok").isNull() && !c.path("ok").isMissingNode()) {
                        boolean ok = c.path("ok").asBoolean();
                        out.println((ok ? "ok " : "failed ") + c.path("command").asText() + ": " + c.path("result").asText(""));
                        return ok ? 0 : 1;
                    }
                    Thread.sleep(200); // polling the sink's HTTP API: there is no push channel to the CLI
                }
                out.println("sent " + commandId + "; no acknowledgement within " + ACK_WAIT.toSeconds()
                        + " s (the device may be offline)");
                return 1;
            }
            default -> throw new IllegalArgumentException("devices needs list, show ID, config set ID k=v, cmd ID COMMAND, "
                    + "approve ID or revoke ID");
        }
    }

    public int claims(List<String> words, String location, int uses, String expires) throws IOException, InterruptedException {
        String sub = words.isEmpty() ? "" : words.get(0);
        if (sub.equals("list")) {
            for (JsonNode c : call("GET", "/api/v1/claims", null)) {
                out.println(c.path("token").asText() + "\t" + c.path("location").asText() + "\t" + c.path("usesLeft").asInt()
                        + "/" + c.path("usesTotal").asInt() + "\texpires " + c.path("expiresAt").asText());
            }
            return 0;
        }
        if (!sub.equals("create") || location == null) {
            throw new IllegalArgumentException("usage: claims create --location L [--uses N] [--expires 7d] | claims list");
        }
        Map<String, Object> body = new LinkedHashMap<>();
        body.put("location", location);
        body.put("uses", uses);
        body.put("expires", expires);
        JsonNode c = call("POST", "/api/v1/claims", body);
        out.println(c.path("token").asText());
        return 0;
    }

    /** "rules 3/3", or with a warning when the box judges with older limits than the sink publishes. */
    static String rules(JsonNode d) {
        long at = d.path("rulesVersion").asLong(-1);
        long published = d.path("rulesPublished").asLong(0);
        if (at < 0) {
            return "rules ?";
        }
        return "rules " + at + "/" + published + (at < published ? " (behind)" : "");
    }

    /** Voucher redemptions the box still has to cancel: non-zero for long means vouchers stuck as redeemed. */
    static String cancels(JsonNode d) {
        int n = d.path("voucherCancels").asInt(-1);
        return n < 0 ? "cancels ?" : "cancels " + n;
    }

    private static String arg(List<String> words, int i, String what) {
        if (words.size() <= i) {
            throw new IllegalArgumentException(what + " is required");
        }
        return words.get(i);
    }

    private JsonNode call(String method, String path, Object body) throws IOException, InterruptedException {
        return api.call(method, path, body);
    }
}
