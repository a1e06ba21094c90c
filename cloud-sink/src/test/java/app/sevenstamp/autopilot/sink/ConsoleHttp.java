package app.sevenstamp.autopilot.sink;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The console as a browser without JavaScript uses it, for the console's integration tests: sign in (the
 * session cookie and the page's CSRF token), open a page, post a form with its token.
 */
final class ConsoleHttp {
    private static final Pattern SESSION = Pattern.compile("7s_session=([A-Za-z0-9_-]{43})");
    private static final Pattern CSRF = Pattern.compile("name=\"csrf\" value=\"([A-Za-z0-9_-]{43})\"");

    private final HttpClient http = HttpClient.newHttpClient();
    private final int port;

    ConsoleHttp(int port) {
        this.port = port;
    }

    HttpRequest.Builder at(String path) {
        return HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path));
    }

    HttpResponse<String> send(HttpRequest.Builder b) throws Exception {
        return http.send(b.build(), HttpResponse.BodyHandlers.ofString());
    }

    HttpResponse<byte[]> sendBytes(HttpRequest.Builder b) throws Exception {
        return http.send(b.build(), HttpResponse.BodyHandlers.ofByteArray());
    }

    /** Signs in; returns {session cookie, CSRF token}. */
    String[] session(String name, String password) throws Exception {
        HttpResponse<String> r = send(at("/console/login").header("Content-Type", "application/x-www-form-urlencoded")
                .POST(HttpRequest.BodyPublishers.ofString("name=" + name + "&password=" + URLEncoder.encode(password,
                        StandardCharsets.UTF_8))));
        assertEquals(303, r.statusCode(), r.body());
        Matcher c = SESSION.matcher(r.headers().firstValue("Set-Cookie").orElseThrow());
        assertTrue(c.find());
        String home = send(at("/console").header("Cookie", "7s_session=" + c.group(1))).body();
        Matcher t = CSRF.matcher(home);
        assertTrue(t.find(), home);
        return new String[] {c.group(1), t.group(1)};
    }

    HttpResponse<String> page(String[] s, String path) throws Exception {
        return send(at(path).header("Cookie", "7s_session=" + s[0]));
    }

    HttpResponse<String> post(String[] s, String path, String form) throws Exception {
        return send(at(path).header("Cookie", "7s_session=" + s[0]).header("Content-Type", "application/x-www-form-urlencoded")
                .POST(HttpRequest.BodyPublishers.ofString("csrf=" + s[1] + "&" + form)));
    }
}
