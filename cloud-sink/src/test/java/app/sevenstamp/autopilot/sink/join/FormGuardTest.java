package app.sevenstamp.autopilot.sink.join;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;
import java.time.Duration;
import java.time.Instant;
import org.junit.jupiter.api.Test;

class FormGuardTest {
    private static final Instant NOW = Instant.parse("2026-12-03T10:00:00Z");
    private static final String HOST = "127.0.0.1:8080";
    private final FormGuard guard = new FormGuard("key".getBytes(StandardCharsets.UTF_8),
            URI.create("https://stamps.example.com"), new SecureRandom());

    @Test
    void theFormsOwnPostIsAccepted() {
        FormGuard.Issued f = guard.issue("coffee", NOW);
        String cookie = "other=1; join_form=" + f.cookieValue();
        assertNull(guard.refusal("coffee", f.formToken(), cookie, "http://127.0.0.1:8080", "same-origin", HOST, NOW.plusSeconds(30)));
        assertNull(guard.refusal("coffee", f.formToken(), cookie, "https://stamps.example.com", null, "internal:8080", NOW),
                "behind a proxy: the public URL's origin");
        assertNull(guard.refusal("coffee", f.formToken(), cookie, null, null, HOST, NOW), "an old browser: cookie and token");
        assertNull(guard.refusal("coffee", f.formToken(), cookie, "null", null, HOST, NOW), "Origin: null (privacy settings)");
        assertTrue(guard.setCookie(f).contains("; HttpOnly; SameSite=Strict; Secure"), guard.setCookie(f));
    }

    @Test
    void postsFromAnotherSiteOrWithoutTheFormAreRefused() {
        FormGuard.Issued f = guard.issue("coffee", NOW);
        String cookie = "join_form=" + f.cookieValue();
        assertEquals("the form was sent from another site (Origin: https://evil.example)",
                guard.refusal("coffee", f.formToken(), cookie, "https://evil.example", null, HOST, NOW));
        assertEquals("the form was sent from another site (Sec-Fetch-Site: cross-site)",
                guard.refusal("coffee", f.formToken(), cookie, null, "cross-site", HOST, NOW));
        assertEquals("the form was sent from another site (Sec-Fetch-Site: same-site)",
                guard.refusal("coffee", f.formToken(), cookie, null, "same-site", HOST, NOW));
        assertEquals("the form's cookie is missing (cookies blocked, or the form came from another site)",
                guard.refusal("coffee", f.formToken(), null, null, null, HOST, NOW));
        assertEquals("the form token does not match its cookie or program",
                guard.refusal("tea", f.formToken(), cookie, null, null, HOST, NOW));
        FormGuard.Issued other = guard.issue("coffee", NOW);
        assertEquals("the form token does not match its cookie or program",
                guard.refusal("coffee", f.formToken(), "join_form=" + other.cookieValue(), null, null, HOST, NOW));
        assertEquals("the form token is missing", guard.refusal("coffee", null, cookie, null, null, HOST, NOW));
        assertEquals("the form token is malformed", guard.refusal("coffee", "x.y", cookie, null, null, HOST, NOW));
        assertEquals("the form has expired (older than 2 h)",
                guard.refusal("coffee", f.formToken(), cookie, null, null, HOST, NOW.plus(FormGuard.MAX_AGE).plus(Duration.ofSeconds(1))));
        String tampered = (Long.parseLong(f.formToken().split("\\.")[0]) + 3600) + "." + f.formToken().split("\\.")[1];
        assertEquals("the form token does not match its cookie or program",
                guard.refusal("coffee", tampered, cookie, null, null, HOST, NOW));
    }

    @Test
    void anotherKeyDoesNotAcceptTheForm() {
        FormGuard.Issued f = guard.issue("coffee", NOW);
        FormGuard other = new FormGuard("other".getBytes(StandardCharsets.UTF_8), null, new SecureRandom());
        assertEquals("the form token does not match its cookie or program",
                other.refusal("coffee", f.formToken(), "join_form=" + f.cookieValue(), null, null, HOST, NOW));
    }
}
