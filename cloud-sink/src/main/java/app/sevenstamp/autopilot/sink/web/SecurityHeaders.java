package app.sevenstamp.autopilot.sink.web;

import org.eclipse.jetty.http.HttpFields;

/** The headers every answer carries, and the policy of every HTML page. */
final class SecurityHeaders {
    /**
     * Pages load nothing from elsewhere: styles and images from this server only (no inline style or
     * script, so an injected tag does nothing; blob: images are the phone's own photos, read in the page),
     * forms post back here, no framing, no base rewriting; the web card's manifest and service worker come
     * from here too.
     */
    static final String PAGE_POLICY = "default-src 'none'; style-src 'self'; img-src 'self' data: blob:; script-src 'self'; "
            + "connect-src 'self'; manifest-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

    private SecurityHeaders() {
    }

    /** Before the route runs: a route may still loosen Cache-Control for a static asset. */
    static void apply(HttpFields.Mutable h) {
        h.put("X-Content-Type-Options", "nosniff");
        // same-origin, not no-referrer: with no-referrer a browser sends "Origin: null" on its own form posts,
        // and the console's Origin check could no longer tell them from a sandboxed attacker's
        h.put("Referrer-Policy", "same-origin");
        h.put("X-Frame-Options", "DENY");
        h.put("Cross-Origin-Resource-Policy", "same-origin");
        h.put("Cache-Control", "no-store");
    }
}
