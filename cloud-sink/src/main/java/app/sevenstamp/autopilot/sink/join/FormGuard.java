package app.sevenstamp.autopilot.sink.join;

import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.security.InvalidKeyException;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.SecureRandom;
import java.time.Duration;
import java.time.Instant;
import java.util.Base64;
import java.util.Locale;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

/**
 * Keeps other sites from posting the public join form (which would mint cards from every visitor's
 * address, past the per-address limit). Three checks, each enough on its own in the browsers that
 * support it:
 * <ol>
 * <li>{@code Sec-Fetch-Site}, when sent, must be {@code same-origin};</li>
 * <li>{@code Origin}, when sent and not {@code null}, must be this site (the request's {@code Host},
 *     or {@code web.publicUrl});</li>
 * <li>always: a SameSite=Strict cookie set with the form, and the form's hidden token, an HMAC of the
 *     program, the time and the cookie's value, no older than {@link #MAX_AGE}. A cross-site post
 *     carries no such cookie, and another site cannot read or set it.</li>
 * </ol>
 * The HMAC key is derived from the card signing key, so every sink instance (and a restarted one)
 * accepts a form another served. Stateless and thread-safe.
 */
final class FormGuard {
    static final String COOKIE = "join_form";
    static final Duration MAX_AGE = Duration.ofHours(2);
    private static final Duration SKEW = Duration.ofMinutes(1);

    /** What the join page puts into its answer. */
    record Issued(String cookieValue, String formToken) {
    }

    private final byte[] key;
    private final URI publicUrl;
    private final SecureRandom random;

    FormGuard(byte[] key, URI publicUrl, SecureRandom random) {
        this.key = key.clone();
        this.publicUrl = publicUrl;
        this.random = random;
    }

    Issued issue(String programId, Instant now) {
        byte[] nonce = new byte[16];
        random.nextBytes(nonce);
        String cookie = b64(nonce);
        long t = now.getEpochSecond();
        return new Issued(cookie, t + "." + mac(programId, t, cookie));
    }

    /** The {@code Set-Cookie} value for the form's cookie. */
    String setCookie(Issued issued) {
        return COOKIE + "=" + issued.cookieValue() + "; Path=/join; Max-Age=" + MAX_AGE.toSeconds()
                + "; HttpOnly; SameSite=Strict" + (publicUrl != null && "https".equals(publicUrl.getScheme()) ? "; Secure" : "");
    }

    /**
     * Null when the post may go on; else why not (for the log and the refusal page).
     *
     * @param host the request's {@code Host} header
     */
    String refusal(String programId, String formToken, String cookieHeader, String origin, String secFetchSite,
            String host, Instant now) {
        if (secFetchSite != null && !secFetchSite.equalsIgnoreCase("same-origin")) {
            return "the form was sent from another site (Sec-Fetch-Site: " + secFetchSite + ")";
        }
        if (origin != null && !origin.equals("null") && !sameSite(origin, host)) {
            return "the form was sent from another site (Origin: " + origin + ")";
        }
        String cookie = cookie(cookieHeader, COOKIE);
        if (cookie == null) {
            return "the form's cookie is missing (cookies blocked, or the form came from another site)";
        }
        int dot = formToken == null ? -1 : formToken.indexOf('.');
        if (dot <= 0) {
            return "the form token is missing";
        }
        long t;
        try {
            t = Long.parseLong(formToken.substring(0, dot));
        } catch (NumberFormatException e) {
            return "the form token is malformed";
        }
        byte[] expected = mac(programId, t, cookie).getBytes(StandardCharsets.US_ASCII);
        if (!MessageDigest.isEqual(expected, formToken.substring(dot + 1).getBytes(StandardCharsets.US_ASCII))) {
            return "the form token does not match its cookie or program";
        }
        Instant issued = Instant.ofEpochSecond(t);
        if (issued.isAfter(now.plus(SKEW)) || issued.plus(MAX_AGE).isBefore(now)) {
            return "the form has expired (older than " + MAX_AGE.toHours() + " h)";
        }
        return null;
    }

    private boolean sameSite(String origin, String host) {
        URI o;
        try {
            o = URI.create(origin);
        } catch (IllegalArgumentException e) {
            return false;
        }
        if (o.getHost() == null) {
            return false;
        }
        String authority = o.getRawAuthority().toLowerCase(Locale.ROOT);
        if (host != null && authority.equals(host.toLowerCase(Locale.ROOT))) {
            return true;
        }
        return publicUrl != null && publicUrl.getScheme().equalsIgnoreCase(o.getScheme())
                && publicUrl.getRawAuthority().equalsIgnoreCase(authority);
    }

    /** A cookie's value from a {@code Cookie} header, or null. */
    static String cookie(String header, String name) {
        if (header == null) {
            return null;
        }
        for (String part : header.split(";")) {
            String p = part.trim();
            if (p.startsWith(name + "=")) {
                String v = p.substring(name.length() + 1);
                return v.isEmpty() || v.length() > 64 ? null : v;
            }
        }
        return null;
    }

    private String mac(String programId, long t, String cookie) {
        try {
            Mac mac = Mac.getInstance("HmacSHA256");
            mac.init(new SecretKeySpec(key, "HmacSHA256"));
            return b64(mac.doFinal(("join|" + programId + "|" + t + "|" + cookie).getBytes(StandardCharsets.UTF_8)));
        } catch (NoSuchAlgorithmException | InvalidKeyException e) {
            throw new IllegalStateException("every JVM has HmacSHA256", e);
        }
    }

    private static String b64(byte[] b) {
        return Base64.getUrlEncoder().withoutPadding().encodeToString(b);
    }
}
