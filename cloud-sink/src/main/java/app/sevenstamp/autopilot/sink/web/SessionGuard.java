package app.sevenstamp.autopilot.sink.web;

import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import org.eclipse.jetty.server.Request;

/**
 * What a state-changing request of a console session must show besides its cookie: that it comes
 * from this site's own pages. The cookie is SameSite=Strict already; this is the second lock, for
 * browsers and proxies that get SameSite wrong: the Origin header (when sent) must be this server,
 * {@code Sec-Fetch-Site} (when sent) must say same-origin, and the session's CSRF token must come back
 * in the form field {@code csrf} or the header {@code X-CSRF-Token}.
 */
final class SessionGuard {
    static final String FIELD = "csrf";
    static final String HEADER = "X-CSRF-Token";

    private SessionGuard() {
    }

    static void check(Exchange ex, Request request) {
        String origin = ex.header("Origin");
        if (origin != null && !sameOrigin(origin, request)) {
            throw new Problem(403, "a cross-site request (Origin " + origin + ") is refused");
        }
        String site = ex.header("Sec-Fetch-Site");
        if (site != null && !site.equals("same-origin") && !site.equals("none")) {
            throw new Problem(403, "a " + site + " request is refused");
        }
        String token = ex.header(HEADER);
        if (token == null) {
            String type = ex.header("Content-Type");
            if (type != null && type.toLowerCase(java.util.Locale.ROOT).startsWith("application/x-www-form-urlencoded")) {
                token = ex.form(16 * 1024).getValue(FIELD);
            }
        }
        String expected = ex.caller().csrf();
        if (token == null || !MessageDigest.isEqual(expected.getBytes(StandardCharsets.UTF_8),
                token.getBytes(StandardCharsets.UTF_8))) {
            throw new Problem(403, "the request does not carry this session's CSRF token; reload the page and try again");
        }
    }

    private static boolean sameOrigin(String origin, Request request) {
        try {
            URI o = URI.create(origin);
            int port = o.getPort() != -1 ? o.getPort() : "https".equals(o.getScheme()) ? 443 : 80;
            return o.getHost() != null && o.getHost().equalsIgnoreCase(Request.getServerName(request))
                    && port == Request.getServerPort(request);
        } catch (IllegalArgumentException e) {
            return false;
        }
    }
}
