package app.sevenstamp.autopilot.sink.web;

import app.sevenstamp.autopilot.sink.store.StoreException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import org.eclipse.jetty.server.Handler;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.util.Callback;
import org.tinylog.Logger;

/**
 * The one router of the sink's HTTP server: method and path template ({@code /api/v1/cards/{cardId}})
 * to a route and the {@link Access} it needs. It answers what no route does (404, 405 with
 * {@code Allow}, 401 with {@code WWW-Authenticate}), runs the authentication filter before the route,
 * puts the security headers on every answer and turns every failure into a {@link Problem}. A GET
 * route answers HEAD too. Routes are added before the server starts; the table is fixed after that.
 */
public final class Router {
    /** A route's work; it answers through the exchange or throws a {@link Problem}. */
    @FunctionalInterface
    public interface Route {
        void handle(Exchange ex);
    }

    /**
     * Told once per request the router answered: the route's template ({@code /api/v1/cards/{cardId}}, never
     * the raw path), or null when no route matched; the method, the status and the time to the answer.
     * Runs on the request's thread after the answer was handed to Jetty; it must be quick and not throw.
     */
    @FunctionalInterface
    public interface RouteObserver {
        void observed(String template, String method, int status, long nanos);
    }

    private record Entry(String method, String[] template, String templateText, Access access, Route route) {
    }

    private final List<Entry> routes = new ArrayList<>();
    private final Credentials credentials;
    private volatile RouteObserver observer = (template, method, status, nanos) -> { };

    public Router(Credentials credentials) {
        this.credentials = credentials;
    }

    public Router get(String template, Access access, Route route) {
        return add("GET", template, access, route);
    }

    public Router post(String template, Access access, Route route) {
        return add("POST", template, access, route);
    }

    public Router delete(String template, Access access, Route route) {
        return add("DELETE", template, access, route);
    }

    /** The one observer of every request (the Prometheus histogram); replaces the one before. */
    public Router observe(RouteObserver o) {
        observer = java.util.Objects.requireNonNull(o, "observer");
        return this;
    }

    private synchronized Router add(String method, String template, Access access, Route route) {
        String[] segments = segments(template);
        for (Entry e : routes) {
            if (e.method.equals(method) && String.join("/", e.template).equals(String.join("/", segments))) {
                throw new IllegalStateException("route " + method + " " + template + " is registered twice");
            }
        }
        routes.add(new Entry(method, segments, "/" + String.join("/", segments), access, route));
        return this;
    }

    /** The Jetty handler that serves this table. */
    Handler handler() {
        List<Entry> table = List.copyOf(routes);
        return new Handler.Abstract() {
            @Override
            public boolean handle(Request request, Response response, Callback callback) {
                dispatch(table, request, response, callback);
                return true;
            }
        };
    }

    private void dispatch(List<Entry> table, Request request, Response response, Callback callback) {
        long t0 = System.nanoTime();
        Exchange ex = dispatchTimed(table, request, response, callback);
        try {
            // the response's status, not the exchange's: an answer may be written by any of Exchange's methods
            observer.observed(ex.route(), request.getMethod(), response.getStatus(), System.nanoTime() - t0);
        } catch (RuntimeException e) {
            Logger.error(e, "the route observer failed");
        }
    }

    private Exchange dispatchTimed(List<Entry> table, Request request, Response response, Callback callback) {
        SecurityHeaders.apply(response.getHeaders());
        String method = request.getMethod();
        String lookup = method.equals("HEAD") ? "GET" : method;
        String[] path = segments(request.getHttpURI().getDecodedPath());
        Entry found = null;
        Map<String, String> params = Map.of();
        Set<String> allowed = new TreeSet<>();
        for (Entry e : table) {
            Map<String, String> p = match(e.template, path);
            if (p != null) {
                allowed.add(e.method);
                if (e.method.equals(GET) || e.method.equals("HEAD")) {
                    allowed.add("HEAD");
                }
                if (found == null && e.method.equals(lookup)) {
                    found = e;
                    params = p;
                }
            }
        }
        Exchange identifying = new Exchange(request, response, callback, params, Caller.ANYONE);
        Caller caller = found == null || found.access == Access.PUBLIC ? Caller.ANYONE
                : credentials.identify(request.getHeaders().get("Authorization"), identifying.cookie(SessionLookup.COOKIE));
        Exchange ex = found == null || found.access == Access.PUBLIC ? identifying
                : new Exchange(request, response, callback, params, caller);
        ex.route(found == null ? null : found.templateText);
        try {
            if (found == null) {
                throw allowed.isEmpty() ? Problem.notFound("no such resource: " + request.getHttpURI().getDecodedPath())
                        : new Problem(405, "use " + String.join(" or ", allowed) + " for " + request.getHttpURI().getDecodedPath(),
                                Map.of("Allow", String.join(", ", allowed)));
            }
            if (!found.access.admits(caller)) {
                refuse(ex, found.access, caller);
                return ex;
            }
            if (caller.viaSession() && !method.equals(GET) && !method.equals("HEAD")) {
                SessionGuard.check(ex, request);
            }
            found.route.handle(ex);
            if (!ex.answered()) {
                throw new IllegalStateException("the route gave no answer");
            }
        } catch (Problem p) {
            answer(ex, p);
        } catch (StoreException e) {
            Logger.error("HTTP {} {}: {}", method, request.getHttpURI().getDecodedPath(), e.getMessage());
            answer(ex, new Problem(503, "the store is unavailable; retry"));
        } catch (RuntimeException e) {
            Logger.error(e, "HTTP {} {} failed", method, request.getHttpURI().getDecodedPath());
            answer(ex, new Problem(500, "internal error"));
        }
        return ex;
    }

    private static final String GET = "GET";

    /**
     * A caller the route does not admit: a browser without a console session goes to the login page
     * (and back afterwards), a signed-in person without the role gets 403, anyone else 401.
     */
    private static void refuse(Exchange ex, Access needed, Caller caller) {
        if (needed.console() && !caller.viaSession() && caller.access() == Access.PUBLIC
                && (ex.method().equals(GET) || ex.method().equals("HEAD"))) {
            ex.redirect("/console/login?next=" + java.net.URLEncoder.encode(ex.path(), java.nio.charset.StandardCharsets.UTF_8));
            return;
        }
        if (caller.access() != Access.PUBLIC) {
            throw new Problem(403, caller.viaSession() ? "signed in as " + caller.operator() + " (" + caller.access().name()
                    .toLowerCase(java.util.Locale.ROOT) + "), which may not do this" : "this key may not do this");
        }
        throw new Problem(401, needed == Access.ADMIN
                ? "this route needs the operator's token: 'Authorization: Bearer <admin token>' (admin.tokenFile)"
                : needed == Access.POS ? "unknown API key; send 'Authorization: Bearer <pos.<location>.apiKey>'"
                : "sign in to the console first (/console/login)",
                Map.of("WWW-Authenticate", "Bearer"));
    }

    private static void answer(Exchange ex, Problem p) {
        if (ex.answered()) {
            Logger.error("HTTP {} {}: {} after the answer was sent", ex.method(), ex.path(), p.getMessage());
            return;
        }
        ex.drainBody();
        ex.problem(p);
    }

    /** The path's segments; a trailing slash is the same path, an empty segment never matches a parameter. */
    private static String[] segments(String path) {
        String p = path == null ? "/" : path;
        while (p.length() > 1 && p.endsWith("/")) {
            p = p.substring(0, p.length() - 1);
        }
        return p.equals("/") ? new String[0] : p.substring(1).split("/", -1);
    }

    /** The template's parameters when the path fits it; null when not. */
    private static Map<String, String> match(String[] template, String[] path) {
        if (template.length != path.length) {
            return null;
        }
        Map<String, String> params = null;
        for (int i = 0; i < template.length; i++) {
            String t = template[i];
            if (t.startsWith("{") && t.endsWith("}")) {
                if (path[i].isEmpty()) {
                    return null;
                }
                if (params == null) {
                    params = new LinkedHashMap<>();
                }
                params.put(t.substring(1, t.length() - 1), path[i]);
            } else if (!t.equals(path[i])) {
                return null;
            }
        }
        return params == null ? Map.of() : params;
    }
}
