package app.sevenstamp.autopilot.sink.fleet;

import app.sevenstamp.autopilot.sink.fleet.FleetRegistry.Claim;
import app.sevenstamp.autopilot.sink.fleet.FleetRegistry.Device;
import app.sevenstamp.autopilot.sink.http.HttpApi;
import app.sevenstamp.autopilot.sink.http.JsonExchange;
import app.sevenstamp.autopilot.sink.store.StoreException;
import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.sun.net.httpserver.HttpExchange;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The fleet HTTP API, every route behind {@code Authorization: Bearer <admin token>}:
 * <ul>
 * <li>{@code GET /api/v1/devices}; {@code GET /api/v1/devices/{id}} (with desired config, last status, recent commands);</li>
 * <li>{@code POST /api/v1/devices/{id}/config} with a JSON object of key to value (empty value removes);</li>
 * <li>{@code POST /api/v1/devices/{id}/commands} with {@code {"command":..., "argument":...}};
 *     {@code GET /api/v1/devices/{id}/commands/{commandId}};</li>
 * <li>{@code POST /api/v1/devices/{id}/revoke}: deletes its broker credentials, ends its session, refuses its events;</li>
 * <li>{@code GET /api/v1/claims}; {@code POST /api/v1/claims} with {@code {"location":..., "uses":N, "expires":"7d"}}.</li>
 * </ul>
 */
public final class FleetHttp {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final int MAX_BODY = 16 * 1024;

    private final FleetService fleet;
    private final byte[] token;

    private FleetHttp(FleetService fleet, String token) {
        this.fleet = fleet;
        this.token = ("Bearer " + token).getBytes(StandardCharsets.UTF_8);
    }

    public static void register(HttpApi http, FleetService fleet, String adminToken) {
        FleetHttp api = new FleetHttp(fleet, adminToken);
        http.route("/api/v1/devices", api::handle);
        http.routeDevices(api::handle);
        http.route("/api/v1/claims", api::handle);
    }

    private void handle(HttpExchange ex) throws IOException {
        try {
            String auth = ex.getRequestHeaders().getFirst("Authorization");
            if (auth == null || !MessageDigest.isEqual(token, auth.getBytes(StandardCharsets.UTF_8))) {
                ex.getResponseHeaders().set("WWW-Authenticate", "Bearer");
                JsonExchange.send(ex, 401, Map.of("error", "missing or wrong bearer token (see admin.tokenFile)"));
                return;
            }
            route(ex);
        } catch (IllegalArgumentException e) {
            JsonExchange.send(ex, 400, Map.of("error", String.valueOf(e.getMessage())));
        } catch (StoreException e) {
            JsonExchange.send(ex, 503, Map.of("error", "the registry is unavailable: " + e.getMessage()));
        } catch (IllegalStateException e) {
            JsonExchange.send(ex, 503, Map.of("error", String.valueOf(e.getMessage())));
        } catch (RuntimeException e) {
            org.tinylog.Logger.error(e, "fleet HTTP {} {} failed", ex.getRequestMethod(), ex.getRequestURI());
            JsonExchange.send(ex, 500, Map.of("error", "internal error"));
        } finally {
            ex.close();
        }
    }

    private void route(HttpExchange ex) throws IOException {
        String method = ex.getRequestMethod();
        String[] parts = ex.getRequestURI().getPath().replaceAll("/+$", "").split("/");
        // "", "api", "v1", "devices"|"claims", id, sub, subId
        String what = parts.length > 3 ? parts[3] : "";
        if (what.equals("claims") && parts.length == 4) {
            if (method.equals("GET")) {
                JsonExchange.send(ex, 200, fleet.registry().claims().stream().map(FleetHttp::claimJson).toList());
            } else if (method.equals("POST")) {
                JsonNode body = JsonExchange.readObject(ex, MAX_BODY);
                String location = text(body, "location");
                int uses = body.path("uses").asInt(1);
                if (uses < 1 || uses > 100_000) {
                    throw new IllegalArgumentException("uses: " + uses + " is not allowed; allowed: 1..100000");
                }
                Duration ttl = duration(body.path("expires").asText("7d"));
                JsonExchange.send(ex, 201, claimJson(fleet.createClaim(location, uses, ttl)));
            } else {
                JsonExchange.send(ex, 405, Map.of("error", "use GET or POST"));
            }
            return;
        }
        if (what.equals("devices")) {
            if (parts.length == 4 && method.equals("GET")) {
                JsonExchange.send(ex, 200, fleet.registry().devices().stream().map(d -> deviceJson(d, false)).toList());
                return;
            }
            String id = parts.length > 4 ? parts[4] : "";
            if (parts.length == 5 && method.equals("GET")) {
                Device d = fleet.registry().device(id).orElse(null);
                if (d == null) {
                    JsonExchange.send(ex, 404, Map.of("error", "no device " + id));
                } else {
                    JsonExchange.send(ex, 200, deviceJson(d, true));
                }
                return;
            }
            if (parts.length == 6 && parts[5].equals("config") && method.equals("POST")) {
                Map<String, String> changes = JSON.convertValue(JsonExchange.readObject(ex, MAX_BODY), new TypeReference<Map<String, String>>() { });
                JsonExchange.send(ex, 200, deviceJson(fleet.setConfig(id, changes), true));
                return;
            }
            if (parts.length == 6 && parts[5].equals("revoke") && method.equals("POST")) {
                JsonExchange.send(ex, 200, deviceJson(fleet.revoke(id), true));
                return;
            }
            if (parts.length == 6 && parts[5].equals("commands") && method.equals("POST")) {
                JsonNode body = JsonExchange.readObject(ex, MAX_BODY);
                String commandId = fleet.sendCommand(id, text(body, "command"), body.path("argument").asText(null));
                JsonExchange.send(ex, 202, Map.of("commandId", commandId));
                return;
            }
            if (parts.length == 7 && parts[5].equals("commands") && method.equals("GET")) {
                var c = fleet.registry().command(parts[6]).filter(x -> x.deviceId().equals(id));
                if (c.isEmpty()) {
                    JsonExchange.send(ex, 404, Map.of("error", "no command " + parts[6] + " for " + id));
                } else {
                    JsonExchange.send(ex, 200, commandJson(c.get()));
                }
                return;
            }
        }
        JsonExchange.send(ex, 404, Map.of("error", "no such resource: " + method + " " + ex.getRequestURI().getPath()));
    }

    private ObjectNode deviceJson(Device d, boolean detail) {
        ObjectNode n = JSON.createObjectNode();
        n.put("deviceId", d.deviceId());
        n.put("location", d.location());
        n.put("hardwareId", d.hardwareId());
        n.put("online", d.online());
        n.put("revokedAt", d.revokedAt() == null ? null : d.revokedAt().toString());
        n.put("lastSeenAt", d.lastSeenAt() == null ? null : d.lastSeenAt().toString());
        n.put("desiredVersion", d.desiredVersion());
        JsonNode status = null;
        try {
            status = d.lastStatus() == null ? null : JSON.readTree(d.lastStatus());
        } catch (IOException e) {
            // a stored status is one the sink decoded before; unreadable means nothing to show
        }
        n.put("configVersion", status == null ? -1 : status.path("configVersion").asLong(-1));
        // -1: not reported (no status yet, or a box older than the field)
        long rules = status == null ? -1 : status.path("rulesVersion").asLong(-1);
        n.put("rulesVersion", rules);
        n.put("rulesPublished", fleet.rulesVersion());
        n.put("voucherCancels", status == null ? -1 : status.path("voucherCancels").asInt(-1));
        if (detail) {
            n.put("provisionedAt", d.provisionedAt() == null ? null : d.provisionedAt().toString());
            n.set("desiredConfig", JSON.valueToTree(d.desiredConfig()));
            n.set("status", status);
            n.set("commands", JSON.valueToTree(fleet.registry().commands(d.deviceId(), 10).stream().map(FleetHttp::commandJson).toList()));
        }
        return n;
    }

    private static Map<String, Object> commandJson(FleetRegistry.Command c) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("commandId", c.commandId());
        m.put("deviceId", c.deviceId());
        m.put("command", c.command());
        m.put("argument", c.argument());
        m.put("issuedAt", c.issuedAt().toString());
        m.put("ok", c.ok());
        m.put("result", c.result());
        m.put("ackedAt", c.ackedAt() == null ? null : c.ackedAt().toString());
        return m;
    }

    private static Map<String, Object> claimJson(Claim c) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("token", c.token());
        m.put("location", c.location());
        m.put("usesTotal", c.usesTotal());
        m.put("usesLeft", c.usesLeft());
        m.put("expiresAt", c.expiresAt().toString());
        return m;
    }

    static Duration duration(String text) {
        var m = java.util.regex.Pattern.compile("(\\d{1,6})(m|h|d)").matcher(text);
        if (!m.matches()) {
            throw new IllegalArgumentException("expires: '" + text + "' is not allowed; allowed: a duration like 30m, 12h or 7d");
        }
        long n = Long.parseLong(m.group(1));
        Duration d = switch (m.group(2)) {
            case "m" -> Duration.ofMinutes(n);
            case "h" -> Duration.ofHours(n);
            default -> Duration.ofDays(n);
        };
        if (d.isZero() || d.compareTo(Duration.ofDays(3650)) > 0) {
            throw new IllegalArgumentException("expires: '" + text + "' is not allowed; allowed: 1m..3650d");
        }
        return d;
    }

    private static String text(JsonNode body, String field) {
        String v = body.path(field).asText(null);
        if (v == null || v.isBlank()) {
            throw new IllegalArgumentException("the field '" + field + "' is required");
        }
        return v;
    }

}
