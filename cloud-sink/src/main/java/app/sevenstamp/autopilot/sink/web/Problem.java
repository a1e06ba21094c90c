package app.sevenstamp.autopilot.sink.web;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * An answer that is an error, as RFC 9457 problem details: {@code {"type","title","status","detail"}}
 * with {@code Content-Type: application/problem+json}. Thrown by a route; the {@link Router} answers it.
 * Every error of the HTTP server has this one shape, whether a route, the router (404, 405, 401) or
 * Jetty itself (431, 400 for a bad request line) decided it.
 */
public final class Problem extends RuntimeException {
    private static final long serialVersionUID = 1L;

    private final int status;
    private final Map<String, String> headers;

    public Problem(int status, String detail) {
        this(status, detail, Map.of());
    }

    /** @param headers answer headers that belong to the error ({@code Allow} of a 405, {@code WWW-Authenticate} of a 401) */
    public Problem(int status, String detail, Map<String, String> headers) {
        super(detail, null, false, false);
        this.status = status;
        this.headers = Map.copyOf(headers);
    }

    public static Problem badRequest(String detail) {
        return new Problem(400, detail);
    }

    public static Problem notFound(String detail) {
        return new Problem(404, detail);
    }

    public static Problem conflict(String detail) {
        return new Problem(409, detail);
    }

    public int status() {
        return status;
    }

    public Map<String, String> headers() {
        return headers;
    }

    /** The JSON body. */
    public Map<String, Object> body() {
        return body(status, getMessage());
    }

    static Map<String, Object> body(int status, String detail) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("type", "about:blank");
        m.put("title", title(status));
        m.put("status", status);
        m.put("detail", detail);
        return m;
    }

    /** The status's reason phrase, which RFC 9457 asks for as the title of an "about:blank" problem. */
    static String title(int status) {
        return switch (status) {
            case 400 -> "Bad Request";
            case 401 -> "Unauthorized";
            case 403 -> "Forbidden";
            case 404 -> "Not Found";
            case 405 -> "Method Not Allowed";
            case 408 -> "Request Timeout";
            case 409 -> "Conflict";
            case 413 -> "Content Too Large";
            case 414 -> "URI Too Long";
            case 415 -> "Unsupported Media Type";
            case 422 -> "Unprocessable Content";
            case 429 -> "Too Many Requests";
            case 431 -> "Request Header Fields Too Large";
            case 500 -> "Internal Server Error";
            case 503 -> "Service Unavailable";
            default -> "HTTP " + status;
        };
    }
}
