package app.sevenstamp.autopilot.sink.fleet;

import app.sevenstamp.autopilot.sink.fleet.FleetRegistry.Claim;
import app.sevenstamp.autopilot.sink.fleet.FleetRegistry.Device;
import app.sevenstamp.autopilot.sink.web.Access;
import app.sevenstamp.autopilot.sink.web.Exchange;
import app.sevenstamp.autopilot.sink.web.Problem;
import app.sevenstamp.autopilot.sink.web.Router;
import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The fleet HTTP API, every route behind the operator's token ({@link Access#ADMIN}):
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

    private FleetHttp(FleetService fleet) {
        this.fleet = fleet;
    }

    public static void register(Router router, FleetService fleet) {
        FleetHttp api = new FleetHttp(fleet);
        router.get("/api/v1/claims", Access.ADMIN, ex -> ex.json(200,
                        fleet.registry().claims().stream().map(FleetHttp::claimJson).toList()))
                .post("/api/v1/claims", Access.ADMIN, api::createClaim)
                .get("/api/v1/devices", Access.ADMIN, ex -> ex.json(200,
                        fleet.registry().devices().stream().map(d -> api.deviceJson(d, false)).toList()))
                .get("/api/v1/devices/{id}", Access.ADMIN, api::device)
                .post("/api/v1/devices/{id}/config", Access.ADMIN, api::config)
                .post("/api/v1/devices/{id}/revoke", Access.ADMIN, ex -> ex.json(200,
                        api.deviceJson(api.call(() -> fleet.revoke(ex.param("id"))), true)))
                .post("/api/v1/devices/{id}/approve", Access.ADMIN, api::approve)
                .post("/api/v1/devices/{id}/commands", Access.ADMIN, api::command)
                .get("/api/v1/devices/{id}/commands/{commandId}", Access.ADMIN, api::commandState);
    }

    private void createClaim(Exchange ex) {
        ClaimRequest c = ClaimRequest.parse(ex.jsonObject(MAX_BODY));
        ex.json(201, claimJson(call(() -> fleet.createClaim(c.location(), c.uses(), c.expires()))));
    }

    /** The body of {@code POST /api/v1/claims}, validated; a Problem (400) names what is wrong. */
    record ClaimRequest(String location, int uses, Duration expires) {
        static ClaimRequest parse(JsonNode body) {
            String location = text(body, "location");
            JsonNode u = body.get("uses");
            // strictly a whole number: Jackson's asInt read 4294967297 as 1, 1.9 as 1, true as 1 and "5" as 5
            if (u != null && !(u.isIntegralNumber() && u.canConvertToInt() && u.intValue() >= 1 && u.intValue() <= 100_000)) {
                throw Problem.badRequest("uses: " + u + " is not allowed; allowed: a whole number 1..100000");
            }
            JsonNode e = body.get("expires");
            if (e != null && !e.isTextual()) {
                throw Problem.badRequest("expires: a duration like 30m, 12h or 7d is expected");
            }
            return new ClaimRequest(location, u == null ? 1 : u.intValue(), duration(e == null ? "7d" : e.asText()));
        }
    }

    private void device(Exchange ex) {
        String id = ex.param("id");
        Device d = fleet.registry().device(id).orElseThrow(() -> Problem.notFound("no device " + id));
        ex.json(200, deviceJson(d, true));
    }

    private void config(Exchange ex) {
        JsonNode body = ex.jsonObject(MAX_BODY);
        Map<String, String> changes;
        try {
            changes = JSON.convertValue(body, new TypeReference<Map<String, String>>() { });
        } catch (IllegalArgumentException e) {
            throw Problem.badRequest("the body must be a JSON object of key to text value");
        }
        ex.json(200, deviceJson(call(() -> fleet.setConfig(ex.param("id"), changes)), true));
    }

    /** One re-provisioning without the box's key (a replaced SD card): 404 unknown, 409 revoked (it needs a claim). */
    private void approve(Exchange ex) {
        Device d;
        try {
            d = fleet.approveReprovisioning(ex.param("id"));
        } catch (IllegalArgumentException e) {
            throw Problem.notFound(String.valueOf(e.getMessage()));
        } catch (IllegalStateException e) {
            throw Problem.conflict(String.valueOf(e.getMessage()));
        }
        ex.json(200, deviceJson(d, true));
    }

    private void command(Exchange ex) {
        JsonNode body = ex.jsonObject(MAX_BODY);
        String command = text(body, "command");
        String commandId = call(() -> fleet.sendCommand(ex.param("id"), command, body.path("argument").asText(null)));
        ex.json(202, Map.of("commandId", commandId));
    }

    private void commandState(Exchange ex) {
        String id = ex.param("id");
        String commandId = ex.param("commandId");
        var c = fleet.registry().command(commandId).filter(x -> x.deviceId().equals(id))
                .orElseThrow(() -> Problem.notFound("no command " + commandId + " for " + id));
        ex.json(200, commandJson(c));
    }

    /**
     * The fleet service says what is wrong with a request by IllegalArgumentException (400) and that it
     * cannot act now (no broker) by IllegalStateException (503).
     */
    private <T> T call(java.util.function.Supplier<T> action) {
        try {
            return action.get();
        } catch (IllegalArgumentException e) {
            throw Problem.badRequest(String.valueOf(e.getMessage()));
        } catch (IllegalStateException e) {
            throw new Problem(503, String.valueOf(e.getMessage()));
        }
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
        n.put("publicKey", d.publicKey());
        n.put("reprovisionApprovedUntil", d.reprovisionApprovedUntil() == null ? null : d.reprovisionApprovedUntil().toString());
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
            throw Problem.badRequest("expires: '" + text + "' is not allowed; allowed: a duration like 30m, 12h or 7d");
        }
        long n = Long.parseLong(m.group(1));
        Duration d = switch (m.group(2)) {
            case "m" -> Duration.ofMinutes(n);
            case "h" -> Duration.ofHours(n);
            default -> Duration.ofDays(n);
        };
        if (d.isZero() || d.compareTo(Duration.ofDays(3650)) > 0) {
            throw Problem.badRequest("expires: '" + text + "' is not allowed; allowed: 1m..3650d");
        }
        return d;
    }

    private static String text(JsonNode body, String field) {
        JsonNode n = body.get(field);
        String v = n == null || !n.isTextual() ? null : n.asText();
        if (v == null || v.isBlank()) {
            throw Problem.badRequest("the field '" + field + "' is required");
        }
        return v;
    }

}
