package app.sevenstamp.autopilot.sink.update;

import app.sevenstamp.autopilot.sink.update.UpdateBook.Release;
import app.sevenstamp.autopilot.sink.update.UpdateBook.Row;
import app.sevenstamp.autopilot.sink.web.Access;
import app.sevenstamp.autopilot.sink.web.Problem;
import app.sevenstamp.autopilot.sink.web.Router;
import com.fasterxml.jackson.databind.JsonNode;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The update API behind the operator's token ({@link Access#ADMIN}), what {@code autopilot-sink update} calls:
 * <ul>
 * <li>{@code GET /api/v1/updates}: the update key's public half, the releases, every box's rollout state;</li>
 * <li>{@code POST /api/v1/updates} with {@code {"version","url","sha256","size"}}: publish a version;</li>
 * <li>{@code POST /api/v1/updates/{version}/rollout} with {@code {"stage":"one:ID"|"percent:N"|"all"}}.</li>
 * </ul>
 */
public final class UpdateHttp {
    private static final int MAX_BODY = 8 * 1024;

    private UpdateHttp() {
    }

    public static void register(Router router, UpdateService updates) {
        router.get("/api/v1/updates", Access.ADMIN, ex -> ex.json(200, overview(updates)))
                .post("/api/v1/updates", Access.ADMIN, ex -> {
                    JsonNode b = ex.jsonObject(MAX_BODY);
                    JsonNode size = b.get("size");
                    if (size == null || !size.isIntegralNumber() || !size.canConvertToLong()) {
                        throw Problem.badRequest("size: the .deb's size in bytes, a whole number");
                    }
                    Release r = call(() -> updates.publish(text(b, "version"), text(b, "url"), text(b, "sha256"), size.longValue()));
                    ex.json(201, release(r));
                })
                .post("/api/v1/updates/{version}/rollout", Access.ADMIN, ex -> {
                    JsonNode b = ex.jsonObject(MAX_BODY);
                    List<String> added = call(() -> updates.rollout(ex.param("version"), text(b, "stage")));
                    ex.json(200, Map.of("version", ex.param("version"), "added", added));
                });
    }

    static Map<String, Object> overview(UpdateService updates) {
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("trustedKey", updates.trustedKey());
        out.put("releases", updates.book().releases().stream().map(UpdateHttp::release).toList());
        out.put("boxes", updates.book().rows().stream().map(UpdateHttp::row).toList());
        return out;
    }

    private static Map<String, Object> release(Release r) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("version", r.version());
        m.put("url", r.url());
        m.put("sha256", r.sha256());
        m.put("size", r.size());
        m.put("publishedAt", r.publishedAt().toString());
        return m;
    }

    private static Map<String, Object> row(Row r) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("deviceId", r.deviceId());
        m.put("version", r.version());
        m.put("stage", r.stage());
        m.put("state", r.state());
        m.put("detail", r.detail());
        m.put("sentAt", r.sentAt() == null ? null : r.sentAt().toString());
        m.put("updatedAt", r.updatedAt().toString());
        return m;
    }

    private static String text(JsonNode b, String field) {
        JsonNode n = b.get(field);
        if (n == null || !n.isTextual() || n.asText().isBlank()) {
            throw Problem.badRequest(field + ": required, a text");
        }
        return n.asText().trim();
    }

    static <T> T call(java.util.function.Supplier<T> action) {
        try {
            return action.get();
        } catch (IllegalArgumentException e) {
            throw Problem.badRequest(e.getMessage());
        } catch (IllegalStateException e) {
            throw Problem.conflict(e.getMessage());
        }
    }
}
