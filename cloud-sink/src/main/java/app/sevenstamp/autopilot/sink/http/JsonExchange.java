package app.sevenstamp.autopilot.sink.http;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.sun.net.httpserver.HttpExchange;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.util.Map;
import org.tinylog.Logger;

/**
 * JSON in and out of one HTTP exchange, for every route that takes a JSON body (operator, POS,
 * fleet): a bounded read of a JSON object and a JSON answer that no cache keeps.
 */
public final class JsonExchange {
    private static final ObjectMapper JSON = new ObjectMapper();

    private JsonExchange() {
    }

    /**
     * The request body as a JSON object, read up to {@code maxBytes}.
     *
     * @throws IllegalArgumentException saying what is wrong with the body, for a 400 answer
     */
    public static JsonNode readObject(HttpExchange ex, int maxBytes) throws IOException {
        try (InputStream in = ex.getRequestBody()) {
            byte[] b = in.readNBytes(maxBytes + 1);
            if (b.length > maxBytes) {
                throw new IllegalArgumentException("request body larger than " + maxBytes + " bytes");
            }
            JsonNode n = JSON.readTree(b);
            if (n == null || !n.isObject()) {
                throw new IllegalArgumentException("the request body must be a JSON object");
            }
            return n;
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new IllegalArgumentException("the request body is not JSON: " + e.getOriginalMessage());
        }
    }

    /** As {@link #readObject}, but null for any body that is not a JSON object within the bound. */
    static JsonNode objectOrNull(HttpExchange ex, int maxBytes) throws IOException {
        try {
            return readObject(ex, maxBytes);
        } catch (IllegalArgumentException e) {
            return null;
        }
    }

    public static void send(HttpExchange ex, int status, Object body) throws IOException {
        sendBytes(ex, status, JSON.writeValueAsBytes(body));
    }

    /** An answer whose JSON was encoded earlier (a stored idempotent response, for example). */
    static void sendBytes(HttpExchange ex, int status, byte[] bytes) throws IOException {
        ex.getResponseHeaders().set("Content-Type", "application/json; charset=utf-8");
        ex.getResponseHeaders().set("Cache-Control", "no-store");
        ex.sendResponseHeaders(status, bytes.length);
        try (OutputStream out = ex.getResponseBody()) {
            out.write(bytes);
        }
    }

    /** {@code {"error": ...}}; when even that cannot be sent (the client left), a debug line. */
    static void trySendError(HttpExchange ex, int status, String error) {
        try {
            send(ex, status, Map.of("error", error));
        } catch (IOException | RuntimeException ignored) {
            Logger.debug("could not send the error response: {}", ignored.getMessage());
        }
    }
}
