package app.sevenstamp.autopilot.sink.web;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import org.eclipse.jetty.http.HttpCookie;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.server.FormFields;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.util.Callback;
import org.eclipse.jetty.util.Fields;

/**
 * One request and its answer, for a route that runs on the server's pool and may block (a store
 * read, a bounded body read). A route answers exactly once, with {@link #json}, {@link #html},
 * {@link #send} or by throwing a {@link Problem}. The answer is written without waiting: the
 * thread is free when the route returns, whatever the client's speed.
 */
public final class Exchange {
    static final ObjectMapper JSON = new ObjectMapper();
    private static final String JSON_TYPE = "application/json; charset=utf-8";

    private final Request request;
    private final Response response;
    private final Callback callback;
    private final Map<String, String> params;
    private final Caller caller;
    private boolean answered;
    private String route;
    private Fields query;

    Exchange(Request request, Response response, Callback callback, Map<String, String> params, Caller caller) {
        this.request = request;
        this.response = response;
        this.callback = callback;
        this.params = Map.copyOf(params);
        this.caller = caller;
    }

    public String method() {
        return request.getMethod();
    }

    /** The decoded path, without the query. */
    public String path() {
        return request.getHttpURI().getDecodedPath();
    }

    /** A {@code {name}} segment of the route's path. */
    public String param(String name) {
        String v = params.get(name);
        if (v == null) {
            throw new IllegalArgumentException("the route has no parameter {" + name + "}");
        }
        return v;
    }

    /** A query parameter's first value, or null. */
    public String query(String name) {
        if (query == null) {
            query = Request.extractQueryParameters(request, StandardCharsets.UTF_8);
        }
        return query.getValue(name);
    }

    public String header(String name) {
        return request.getHeaders().get(name);
    }

    public String clientAddress() {
        return Request.getRemoteAddr(request);
    }

    /** Who the authentication filter found the caller to be. */
    public Caller caller() {
        return caller;
    }

    /**
     * The body as a JSON object of at most {@code maxBytes}.
     *
     * @throws Problem 413 for a larger body, 400 for one that is not a JSON object
     */
    public JsonNode jsonObject(int maxBytes) {
        byte[] b = body(maxBytes);
        JsonNode n;
        try {
            n = JSON.readTree(b);
        } catch (JsonProcessingException e) {
            throw Problem.badRequest("the request body is not JSON: " + e.getOriginalMessage());
        } catch (IOException e) {
            throw Problem.badRequest("the request body could not be read: " + e.getMessage());
        }
        if (n == null || !n.isObject()) {
            throw Problem.badRequest("the request body must be a JSON object");
        }
        return n;
    }

    /** The raw body, at most {@code maxBytes} (413 beyond; a declared length is checked before reading). */
    public byte[] body(int maxBytes) {
        long declared = request.getLength();
        if (declared > maxBytes) {
            throw new Problem(413, "the request body is " + declared + " bytes; at most " + maxBytes + " are accepted here");
        }
        try (InputStream in = Request.asInputStream(request)) {
            byte[] b = in.readNBytes(maxBytes + 1);
            if (b.length > maxBytes) {
                throw new Problem(413, "the request body is larger than " + maxBytes + " bytes");
            }
            return b;
        } catch (IOException e) {
            throw new Problem(400, "the request body could not be read: " + e.getMessage());
        }
    }

    /** A request cookie's value, or null. */
    public String cookie(String name) {
        for (HttpCookie c : Request.getCookies(request)) {
            if (c.getName().equals(name)) {
                return c.getValue();
            }
        }
        return null;
    }

    /**
     * The fields of an {@code application/x-www-form-urlencoded} body of at most {@code maxBytes}
     * (read once; later calls get the same fields).
     *
     * @throws Problem 415 for another content type, 413 for a larger body, 400 for one that cannot be read
     */
    public Fields form(int maxBytes) {
        String type = request.getHeaders().get(HttpHeader.CONTENT_TYPE);
        if (type == null || !type.toLowerCase(java.util.Locale.ROOT).startsWith("application/x-www-form-urlencoded")) {
            throw new Problem(415, "a form (application/x-www-form-urlencoded) is expected");
        }
        if (request.getLength() > maxBytes) {
            throw new Problem(413, "the form is " + request.getLength() + " bytes; at most " + maxBytes + " are accepted here");
        }
        try {
            return FormFields.getFields(request, 64, maxBytes);
        } catch (RuntimeException e) {
            throw new Problem(e.getMessage() != null && e.getMessage().contains("exceeds") ? 413 : 400,
                    "the form could not be read: " + e.getMessage());
        }
    }

    /** Adds an answer header beside any of the same name ({@code Set-Cookie}). */
    public Exchange addHeader(String name, String value) {
        response.getHeaders().add(name, value);
        return this;
    }

    /** 303 See Other to a path of this server (never to an address a request named: no open redirect). */
    public void redirect(String path) {
        if (!path.startsWith("/") || path.startsWith("//") || path.contains("\\")) {
            throw new IllegalArgumentException("not a local path: " + path);
        }
        header("Location", path);
        send(303, "text/plain; charset=utf-8", new byte[0]);
    }

    /** Sets an answer header (before the answer is sent). */
    public Exchange header(String name, String value) {
        response.getHeaders().put(name, value);
        return this;
    }

    public void json(int status, Object body) {
        try {
            send(status, JSON_TYPE, JSON.writeValueAsBytes(body));
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("cannot encode " + body.getClass().getSimpleName() + " as JSON", e);
        }
    }

    /** JSON encoded earlier (a stored idempotent answer, for example). */
    public void jsonBytes(int status, byte[] body) {
        send(status, JSON_TYPE, body);
    }

    /** An HTML page, with the Content-Security-Policy every page gets ({@link SecurityHeaders#PAGE_POLICY}). */
    public void html(int status, String page) {
        response.getHeaders().put("Content-Security-Policy", SecurityHeaders.PAGE_POLICY);
        send(status, "text/html; charset=utf-8", page.getBytes(StandardCharsets.UTF_8));
    }

    public void text(int status, String text) {
        send(status, "text/plain; charset=utf-8", text.getBytes(StandardCharsets.UTF_8));
    }

    /** The answer; a HEAD request gets its headers only. */
    public void send(int status, String contentType, byte[] body) {
        if (answered) {
            throw new IllegalStateException("answered twice: " + method() + " " + path());
        }
        answered = true;
        response.setStatus(status);
        response.getHeaders().put(HttpHeader.CONTENT_TYPE, contentType);
        response.getHeaders().put(HttpHeader.CONTENT_LENGTH, body.length);
        boolean head = method().equals("HEAD");
        response.write(true, head ? null : ByteBuffer.wrap(body), callback);
    }

    /**
     * An answer without a body and without a content type: 204 No Content, 304 Not Modified (whose headers,
     * such as Last-Modified, are set before with {@link #header(String, String)}), or 200/201 where a client
     * expects nothing (the PassKit web service).
     */
    public void empty(int status) {
        if (answered) {
            throw new IllegalStateException("answered twice: " + method() + " " + path());
        }
        answered = true;
        response.setStatus(status);
        if (status != 204 && status != 304) {
            response.getHeaders().put(HttpHeader.CONTENT_LENGTH, 0);
        }
        response.write(true, null, callback);
    }

    /**
     * Reads what is left of the body (up to 64 KB) before an answer the route gave without reading it (a
     * refusal): a client that sent a body and gets its answer early would otherwise find the kept-alive
     * connection broken under its next request. A longer rest closes the connection instead.
     */
    void drainBody() {
        if (request.getLength() == 0) {
            return;
        }
        try (InputStream in = Request.asInputStream(request)) {
            byte[] buffer = new byte[8192];
            long total = 0;
            int n;
            while ((n = in.read(buffer)) != -1) {
                total += n;
                if (total > 64 * 1024) {
                    response.getHeaders().put(HttpHeader.CONNECTION, "close");
                    return;
                }
            }
        } catch (IOException | RuntimeException e) {
            response.getHeaders().put(HttpHeader.CONNECTION, "close");
        }
    }

    void problem(Problem p) {
        p.headers().forEach(this::header);
        send(p.status(), "application/problem+json", problemBytes(p.status(), p.getMessage()));
    }

    boolean answered() {
        return answered;
    }

    /** The template of the route that matched, or null. */
    String route() {
        return route;
    }

    void route(String template) {
        route = template;
    }

    static byte[] problemBytes(int status, String detail) {
        try {
            return JSON.writeValueAsBytes(Problem.body(status, detail));
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("a map of strings is JSON", e);
        }
    }
}
