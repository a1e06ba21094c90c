package app.sevenstamp.autopilot.sink;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import app.sevenstamp.autopilot.sink.cli.SinkCli;
import app.sevenstamp.autopilot.sink.testing.TestSink;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Issue 14, item 1: console accounts and sessions over real HTTP on a real sink. The first owner is
 * made by the CLI with the operator's token; passwords are Argon2id hashes; the session cookie is
 * HttpOnly, SameSite=Strict and Secure and stored only as a hash; every state change of a session
 * needs its CSRF token; sign-ins are throttled per name; roles decide what a session may open; every
 * action is in the audit log with the person's name.
 */
class ConsoleSignInIT {
    private static final String ALICE_PASSWORD = "correct horse battery staple";
    private static final Pattern CSRF = Pattern.compile("name=\"csrf\" value=\"([A-Za-z0-9_-]{43})\"");

    @TempDir
    Path dir;
    private final HttpClient http = HttpClient.newHttpClient(); // no cookie handler: cookies are sent by hand
    private int port;

    private HttpResponse<String> get(String path, String cookie) throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path));
        if (cookie != null) {
            b.header("Cookie", "7s_session=" + cookie);
        }
        return http.send(b.build(), HttpResponse.BodyHandlers.ofString());
    }

    private HttpResponse<String> form(String path, String cookie, String... pairs) throws Exception {
        List<String> fields = new ArrayList<>();
        for (int i = 0; i < pairs.length; i += 2) {
            fields.add(pairs[i] + "=" + URLEncoder.encode(pairs[i + 1], StandardCharsets.UTF_8));
        }
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path))
                .header("Content-Type", "application/x-www-form-urlencoded")
                .POST(HttpRequest.BodyPublishers.ofString(String.join("&", fields)));
        if (cookie != null) {
            b.header("Cookie", "7s_session=" + cookie);
        }
        return http.send(b.build(), HttpResponse.BodyHandlers.ofString());
    }

    private HttpResponse<String> json(String path, String cookie, String csrf, String bearer, String body) throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path))
                .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString(body));
        if (cookie != null) {
            b.header("Cookie", "7s_session=" + cookie);
        }
        if (csrf != null) {
            b.header("X-CSRF-Token", csrf);
        }
        if (bearer != null) {
            b.header("Authorization", "Bearer " + bearer);
        }
        return http.send(b.build(), HttpResponse.BodyHandlers.ofString());
    }

    private String signIn(String name, String password) throws Exception {
        HttpResponse<String> r = form("/console/login", null, "name", name, "password", password, "next", "/console");
        assertEquals(303, r.statusCode(), r.body());
        String setCookie = r.headers().firstValue("Set-Cookie").orElseThrow();
        Matcher m = Pattern.compile("7s_session=([A-Za-z0-9_-]{43});").matcher(setCookie);
        assertTrue(m.find(), setCookie);
        return m.group(1);
    }

    private static String csrf(String page) {
        Matcher m = CSRF.matcher(page);
        assertTrue(m.find(), page);
        return m.group(1);
    }

    @Test
    void accountsSessionsRolesAndTheAuditLog() throws Exception {
        TestSink sinkConfig = TestSink.in(dir).program("coffee", 10);
        try (SinkServer sink = sinkConfig.start()) {
            port = sink.httpPort();
            // the CLI reads the sink's own file; it now names the port the sink took
            Path config = sinkConfig.set("http.port", Integer.toString(port)).write();
            String token = Files.readString(sinkConfig.storeDir().resolve("admin.token")).trim();

            HttpResponse<String> anonymous = get("/console", null);
            assertEquals(303, anonymous.statusCode());
            assertEquals("/console/login?next=%2Fconsole", anonymous.headers().firstValue("Location").orElse(""));
            HttpResponse<String> loginPage = get("/console/login", null);
            assertTrue(loginPage.body().contains("No account exists yet"), loginPage.body());
            assertTrue(loginPage.headers().firstValue("Content-Security-Policy").isPresent());

            // the first owner, by the CLI with the operator's token; the password comes on standard input
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            ByteArrayOutputStream err = new ByteArrayOutputStream();
            int status = new SinkCli(new PrintStream(out, true, StandardCharsets.UTF_8), new PrintStream(err, true, StandardCharsets.UTF_8),
                    new ByteArrayInputStream((ALICE_PASSWORD + "\n").getBytes(StandardCharsets.UTF_8)), null)
                    .run(new String[] {"operators", "add", "alice", "--role", "owner", "--config", config.toString()});
            assertEquals(0, status, err.toString(StandardCharsets.UTF_8));
            assertTrue(out.toString(StandardCharsets.UTF_8).contains("\"role\":\"owner\""), out.toString(StandardCharsets.UTF_8));
            HttpResponse<String> staffAdded = json("/api/v1/operators", null, null, token,
                    "{\"name\":\"bob\",\"role\":\"staff\",\"locations\":[\"shop-1\"],\"password\":\"bob's long counter password\"}");
            assertEquals(201, staffAdded.statusCode(), staffAdded.body());
            assertEquals(400, json("/api/v1/operators", null, null, token,
                    "{\"name\":\"carol\",\"role\":\"staff\",\"password\":\"short\"}").statusCode());
            assertEquals(409, json("/api/v1/operators", null, null, token,
                    "{\"name\":\"bob\",\"role\":\"staff\",\"locations\":[\"shop-1\"],\"password\":\"another long password\"}").statusCode());

            try (Connection c = sink.store().connection(); Statement st = c.createStatement();
                    ResultSet rs = st.executeQuery("SELECT password_hash FROM console_operators WHERE name = 'alice'")) {
                assertTrue(rs.next());
                assertTrue(rs.getString(1).startsWith("$argon2id$v=19$m=19456,t=2,p=1$"), rs.getString(1));
                assertFalse(rs.getString(1).contains("horse"));
            }

            // wrong passwords: five per name in the window, then even the right one waits
            for (int i = 0; i < 5; i++) {
                assertEquals(401, form("/console/login", null, "name", "bob", "password", "guess " + i).statusCode());
            }
            HttpResponse<String> throttled = form("/console/login", null, "name", "bob", "password", "bob's long counter password");
            assertEquals(429, throttled.statusCode());
            assertTrue(throttled.headers().firstValue("Retry-After").isPresent());
            assertEquals(401, form("/console/login", null, "name", "nobody", "password", "whatever it is").statusCode());

            // a sign-in from another site is refused; a 'next' elsewhere is ignored
            HttpResponse<String> crossSite = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/console/login"))
                    .header("Content-Type", "application/x-www-form-urlencoded").header("Origin", "http://evil.example")
                    .POST(HttpRequest.BodyPublishers.ofString("name=alice&password=" + URLEncoder.encode(ALICE_PASSWORD,
                            StandardCharsets.UTF_8))).build(), HttpResponse.BodyHandlers.ofString());
            assertEquals(403, crossSite.statusCode());
            HttpResponse<String> elsewhere = form("/console/login", null, "name", "alice", "password", ALICE_PASSWORD,
                    "next", "//evil.example/x");
            assertEquals("/console", elsewhere.headers().firstValue("Location").orElse(""));
            String setCookie = elsewhere.headers().firstValue("Set-Cookie").orElseThrow();
            assertTrue(setCookie.contains("HttpOnly") && setCookie.contains("SameSite=Strict") && setCookie.contains("Secure"),
                    setCookie);

            String alice = signIn("alice", ALICE_PASSWORD);
            HttpResponse<String> home = get("/console", alice);
            assertEquals(200, home.statusCode(), home.body());
            assertTrue(home.body().contains("Signed in as <strong>alice</strong> (owner)"), home.body());
            String aliceCsrf = csrf(home.body());
            try (Connection c = sink.store().connection(); Statement st = c.createStatement();
                    ResultSet rs = st.executeQuery("SELECT id_hash FROM console_sessions")) {
                while (rs.next()) {
                    assertFalse(rs.getString(1).equals(alice), "the table keeps a hash, not the cookie");
                }
            }

            // an owner's session may use the operator API, with its CSRF token
            assertEquals(200, get("/api/v1/operators", alice).statusCode());
            String carol = "{\"name\":\"carol\",\"role\":\"manager\",\"locations\":[\"shop-1\"],\"password\":\"carol manages shop one\"}";
            assertEquals(403, json("/api/v1/operators", alice, null, null, carol).statusCode(), "no CSRF token");
            assertEquals(403, json("/api/v1/operators", alice, "x".repeat(43), null, carol).statusCode(), "a wrong CSRF token");
            assertEquals(201, json("/api/v1/operators", alice, aliceCsrf, null, carol).statusCode());

            // staff sees the console but not the operator API
            String carolSession = signIn("carol", "carol manages shop one");
            assertEquals(200, get("/console", carolSession).statusCode());
            HttpResponse<String> forbidden = get("/api/v1/operators", carolSession);
            assertEquals(403, forbidden.statusCode(), forbidden.body());
            assertTrue(forbidden.body().contains("signed in as carol (manager)"), forbidden.body());

            // signing out needs the token too, and ends the session for good
            assertEquals(403, form("/console/logout", alice).statusCode());
            HttpResponse<String> out1 = form("/console/logout", alice, "csrf", aliceCsrf);
            assertEquals(303, out1.statusCode());
            assertTrue(out1.headers().firstValue("Set-Cookie").orElse("").contains("Max-Age=0"));
            assertEquals(303, get("/console", alice).statusCode(), "the old cookie opens nothing");

            HttpResponse<String> audit = get("/api/v1/audit", signIn("alice", ALICE_PASSWORD));
            assertEquals(200, audit.statusCode());
            for (String line : List.of("\"actor\":\"admin\",\"action\":\"operator-added\",\"target\":\"alice\"",
                    "\"actor\":\"alice\",\"action\":\"operator-added\",\"target\":\"carol\"",
                    "\"actor\":\"alice\",\"action\":\"sign-out\"", "\"actor\":\"carol\",\"action\":\"sign-in\"")) {
                assertTrue(audit.body().contains(line), line + " in " + audit.body());
            }
        }
    }
}
