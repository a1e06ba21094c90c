package app.sevenstamp.autopilot.sink;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import app.sevenstamp.autopilot.protocol.card.CardCheck;
import app.sevenstamp.autopilot.protocol.card.CardVerifier;
import app.sevenstamp.autopilot.protocol.testing.Tools;
import app.sevenstamp.autopilot.protocol.testing.Vectors;
import app.sevenstamp.autopilot.sink.cli.SinkCli;
import app.sevenstamp.autopilot.sink.join.JoinStore;
import app.sevenstamp.autopilot.sink.join.JoinedCard;
import app.sevenstamp.autopilot.sink.join.QrDecode;
import app.sevenstamp.autopilot.sink.testing.TestSink;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
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
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The join page over real HTTP: the sink in-process, signing with the golden vectors' key, and the JDK's
 * HTTP client posting the form as a browser without JavaScript does.
 */
class JoinIT {
    static final String ADMIN = "join-it-admin-token-0123456789";
    static final String PUBLIC_URL = "https://stamps.example.com";
    private static final Pattern FORM_TOKEN = Pattern.compile("name=\"t\" value=\"([^\"]+)\"");
    private static final Pattern COOKIE = Pattern.compile("join_form=([^;]+)");
    private static final Pattern WEB_CARD = Pattern.compile("/cards/([A-Z2-7]{16})/w/([A-Za-z0-9_-]{22})");

    private final HttpClient http = HttpClient.newHttpClient();
    private final ObjectMapper json = new ObjectMapper();

    @TempDir
    Path dir;
    private TestSink config;
    private SinkServer sink;
    private String base;

    @BeforeEach
    void start() {
        config = TestSink.in(dir).vectorKey().set("admin.token", ADMIN).set("web.publicUrl", PUBLIC_URL)
                .program("coffee", 8).set("program.coffee.name", "Coffee <&> \"Co\"")
                .program("tea", 5).set("program.tea.name", "Tea House").set("program.tea.joinAsks", "name,email");
        sink = config.start();
        base = "http://127.0.0.1:" + sink.httpPort();
    }

    @AfterEach
    void stop() {
        if (sink != null) {
            sink.close();
        }
    }

    /** What a browser holds after opening the join page. */
    record Form(String token, String cookie, String html) {
    }

    Form open(String program) throws Exception {
        HttpResponse<String> r = get("/join/" + program, "text/html");
        assertEquals(200, r.statusCode(), r.body());
        Matcher t = FORM_TOKEN.matcher(r.body());
        Matcher c = COOKIE.matcher(r.headers().firstValue("Set-Cookie").orElseThrow());
        assertTrue(t.find() && c.find(), r.body());
        return new Form(t.group(1).replace("&amp;", "&"), c.group(1), r.body());
    }

    HttpResponse<String> post(String program, Form form, String origin, String accept, String extra) throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(base + "/join/" + program))
                .header("Content-Type", "application/x-www-form-urlencoded")
                .POST(HttpRequest.BodyPublishers.ofString("t=" + URLEncoder.encode(form.token, StandardCharsets.UTF_8) + extra));
        if (form.cookie != null) {
            b.header("Cookie", "join_form=" + form.cookie);
        }
        if (origin != null) {
            b.header("Origin", origin);
        }
        if (accept != null) {
            b.header("Accept", accept);
        }
        return http.send(b.build(), HttpResponse.BodyHandlers.ofString());
    }

    HttpResponse<String> get(String path, String accept) throws Exception {
        return http.send(HttpRequest.newBuilder(URI.create(base + path)).header("Accept", accept).build(),
                HttpResponse.BodyHandlers.ofString());
    }

    HttpResponse<byte[]> getBytes(String path, String token) throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(base + path));
        if (token != null) {
            b.header("Authorization", "Bearer " + token);
        }
        return http.send(b.build(), HttpResponse.BodyHandlers.ofByteArray());
    }

    private long joined(String program) {
        return new JoinStore(sink.store()).count(program);
    }

    @Test
    void theJoinPageIsAPlainFormWithoutScriptAndOpeningItMintsNothing() throws Exception {
        for (int i = 0; i < 3; i++) {
            open("coffee");
        }
        HttpResponse<String> r = get("/join/coffee", "text/html");
        String html = r.body();
        assertTrue(html.contains("<form method=\"post\" action=\"/join/coffee\">"), html);
        assertTrue(html.contains("<button type=\"submit\">Get my card</button>"), html);
        assertTrue(html.contains("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"), html);
        assertTrue(html.contains("Coffee &lt;&amp;&gt; &quot;Co&quot;"), html);
        assertTrue(html.contains("8 stamps earn a reward"), html);
        assertFalse(html.contains("<script"), "the join page works without JavaScript: " + html);
        assertFalse(html.contains("name=\"email\""), "coffee asks nothing: " + html);
        String cookie = r.headers().firstValue("Set-Cookie").orElseThrow();
        assertTrue(cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict") && cookie.contains("Secure"), cookie);
        assertEquals(0, joined("coffee"), "a GET must not mint cards");
        assertEquals(404, get("/join/nosuch", "text/html").statusCode());
        int traversal = get("/join/..%2Fadmin", "text/html").statusCode();
        assertTrue(traversal == 400 || traversal == 404, "an encoded slash: " + traversal);
    }

    @Test
    void joiningIssuesACardWhoseCodeVerifiesWithTheProgramsKeyAndWhoseWebCardShowsIt() throws Exception {
        HttpResponse<String> r = post("coffee", open("coffee"), base, "text/html", "");
        assertEquals(303, r.statusCode(), r.body());
        String location = r.headers().firstValue("Location").orElseThrow();
        Matcher m = WEB_CARD.matcher(location);
        assertTrue(m.matches(), location);
        assertEquals(1, joined("coffee"));

        HttpResponse<String> page = get(location, "text/html");
        assertEquals(200, page.statusCode());
        assertTrue(page.body().contains("<img class=\"qr\" src=\"" + location + "/qr.png\""), page.body());
        assertTrue(page.body().contains("0 of 8 stamps"), page.body());
        assertTrue(page.body().contains("<link rel=\"manifest\" href=\"" + location + "/manifest.webmanifest\">"), page.body());
        assertTrue(page.body().contains("<script src=\"/assets/webcard.js\" defer></script>"), page.body());
        assertFalse(page.body().contains("Add to Apple Wallet"), "no wallet configured: web card only");
        assertEquals("private, no-cache", page.headers().firstValue("Cache-Control").orElseThrow());
        String csp = page.headers().firstValue("Content-Security-Policy").orElseThrow();
        assertTrue(csp.contains("manifest-src 'self'") && csp.contains("script-src 'self'"), csp);

        HttpResponse<byte[]> qr = getBytes(location + "/qr.png", null);
        assertEquals(200, qr.statusCode());
        assertEquals("image/png", qr.headers().firstValue("Content-Type").orElseThrow());
        String code = QrDecode.text(qr.body());
        CardCheck check = CardVerifier.parse(List.of(Vectors.json("card-codes.json").get("trusted").asText())).verify(code);
        CardCheck.Valid valid = assertInstanceOf(CardCheck.Valid.class, check, code);
        assertEquals("coffee", valid.card().programId());
        assertEquals(m.group(1), valid.card().cardId());

        JsonNode manifest = json.readTree(getBytes(location + "/manifest.webmanifest", null).body());
        assertEquals(location, manifest.get("start_url").asText());
        assertEquals(200, getBytes(manifest.get("icons").get(0).get("src").asText(), null).statusCode());
        HttpResponse<byte[]> sw = getBytes("/webcard-sw.js", null);
        assertEquals("text/javascript; charset=utf-8", sw.headers().firstValue("Content-Type").orElseThrow());
        assertTrue(new String(sw.body(), StandardCharsets.UTF_8).contains("addEventListener('fetch'"));

        // today's card page keeps working, and never shows the code
        HttpResponse<String> progress = get("/cards/" + m.group(1), "text/html");
        assertEquals(404, progress.statusCode());
        assertTrue(progress.body().contains("has no stamps yet"), progress.body());
    }

    @Test
    void aStrangerWithOnlyTheCardIdGetsNoCode() throws Exception {
        Matcher m = WEB_CARD.matcher(post("coffee", open("coffee"), null, "text/html", "").headers().firstValue("Location").orElseThrow());
        assertTrue(m.matches());
        String id = m.group(1);
        String wrong = (m.group(2).charAt(0) == 'A' ? "B" : "A") + m.group(2).substring(1);
        for (String path : List.of("/cards/" + id + "/w/" + wrong, "/cards/" + id + "/w/" + wrong + "/qr.png",
                "/cards/" + id + "/w/" + wrong + "/manifest.webmanifest", "/cards/" + id + "/w/short/qr.png",
                "/cards/" + id + "/qr.png", "/cards/" + id, "/api/v1/cards/" + id)) {
            HttpResponse<byte[]> r = getBytes(path, null);
            assertTrue(r.statusCode() == 404, path + " answered " + r.statusCode());
            assertFalse(new String(r.body(), StandardCharsets.ISO_8859_1).contains("7S1."), path + " shows a card code");
        }
    }

    @Test
    void aPostFromAnotherSiteIsRefusedAndMintsNothing() throws Exception {
        Form form = open("coffee");
        HttpResponse<String> page = post("coffee", form, "https://evil.example", "text/html", "");
        assertEquals(403, page.statusCode());
        assertTrue(page.body().contains("the form was sent from another site (Origin: https://evil.example)"), page.body());
        assertTrue(page.headers().firstValue("Content-Type").orElseThrow().startsWith("text/html"));
        HttpResponse<String> problem = post("coffee", form, "https://evil.example", null, "");
        assertEquals(403, problem.statusCode());
        assertEquals("application/problem+json", problem.headers().firstValue("Content-Type").orElseThrow());
        assertEquals("join form refused: the form was sent from another site (Origin: https://evil.example)",
                json.readTree(problem.body()).get("detail").asText());
        // an attacker's page can embed a token it fetched, but not the browser's SameSite cookie
        assertEquals(403, post("coffee", new Form(form.token, null, ""), null, "text/html", "").statusCode());
        assertEquals(403, post("tea", form, null, "text/html", "").statusCode(), "another program's form");
        HttpRequest crossSite = HttpRequest.newBuilder(URI.create(base + "/join/coffee"))
                .header("Content-Type", "application/x-www-form-urlencoded").header("Cookie", "join_form=" + form.cookie)
                .header("Sec-Fetch-Site", "cross-site")
                .POST(HttpRequest.BodyPublishers.ofString("t=" + form.token)).build();
        assertEquals(403, http.send(crossSite, HttpResponse.BodyHandlers.ofString()).statusCode());
        HttpRequest json = HttpRequest.newBuilder(URI.create(base + "/join/coffee")).header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString("{}")).build();
        assertEquals(415, http.send(json, HttpResponse.BodyHandlers.ofString()).statusCode());
        assertEquals(0, joined("coffee"));
        assertEquals(303, post("coffee", form, base, "text/html", "").statusCode(), "the same form from this site is accepted");
    }

    @Test
    void aBotLoopingPostsGets429AfterTheLimitAndTheStoreHoldsOnlyTheAllowedCards() throws Exception {
        Form form = open("coffee");
        int created = 0;
        int limited = 0;
        for (int i = 0; i < 200; i++) {
            HttpResponse<String> r = post("coffee", form, base, i % 2 == 0 ? "text/html" : "application/json", "");
            if (r.statusCode() == 303) {
                created++;
            } else {
                assertEquals(429, r.statusCode(), r.body());
                long retry = Long.parseLong(r.headers().firstValue("Retry-After").orElseThrow());
                assertTrue(retry >= 1 && retry <= 12, "Retry-After " + retry);
                if (i % 2 == 0) {
                    assertTrue(r.body().contains("Too many cards were issued here just now"), r.body());
                } else {
                    assertTrue(json.readTree(r.body()).get("detail").asText().startsWith(
                            "too many cards issued (join.perAddress=5/1m); retry after "), r.body());
                }
                limited++;
            }
        }
        assertEquals(5, created);
        assertEquals(195, limited);
        assertEquals(5, joined("coffee"), "the store holds only the allowed cards");
        assertEquals(195L, sink.metrics().snapshot().get("join.rateLimited"));
    }

    @Test
    void aProgramThatAsksGetsOnlyWhatTheCustomerGaveWithConsent() throws Exception {
        Form form = open("tea");
        assertTrue(form.html.contains("name=\"name\"") && form.html.contains("type=\"email\" name=\"email\""), form.html);
        assertTrue(form.html.contains("I agree that Tea House keeps my name and e-mail address"), form.html);
        HttpResponse<String> noConsent = post("tea", form, base, "text/html", "&name=Ada&email=ada%40example.org");
        assertEquals(400, noConsent.statusCode());
        assertTrue(noConsent.body().contains("Please tick the box to agree"), noConsent.body());
        assertTrue(noConsent.body().contains("value=\"ada@example.org\""), "what was typed stays: " + noConsent.body());
        assertEquals(400, post("tea", form, base, "text/html", "&email=not-an-address&consent=yes").statusCode());
        assertEquals(400, post("tea", form, base, "text/html", "&name=" + "x".repeat(81) + "&consent=yes").statusCode());
        assertEquals(0, joined("tea"));

        JoinedCard given = card(post("tea", form, base, "text/html", "&name=Ada+L.&email=ada%40example.org&consent=yes"));
        assertEquals("Ada L.", given.name());
        assertEquals("ada@example.org", given.email());
        assertTrue(given.consentText().startsWith("I agree that Tea House"));
        assertNotNull(given.consentAt());

        JoinedCard empty = card(post("tea", form, base, "text/html", "&name=&email=&consent=yes"));
        assertNull(empty.name());
        assertNull(empty.email());
        assertNull(empty.consentText(), "nothing given, nothing stored");
        JoinedCard coffee = card(post("coffee", open("coffee"), base, "text/html", "&name=Bob&email=bob%40example.org&consent=yes"));
        assertNull(coffee.name(), "coffee does not ask: nothing stored");
        assertNull(coffee.email());
    }

    @Test
    void hostileFieldsAreRefusedOrEscapedAndStoreNothing() throws Exception {
        Form form = open("tea");
        HttpResponse<String> script = post("tea", form, base, "text/html", "&name=%3Cscript%3Ealert(1)%3C%2Fscript%3E&email=x");
        assertEquals(400, script.statusCode());
        assertFalse(script.body().contains("<script>alert"), script.body());
        assertTrue(script.body().contains("value=\"&lt;script&gt;alert(1)&lt;/script&gt;\""), script.body());
        assertEquals(400, post("tea", form, base, "text/html", "&name=a%00b&consent=yes").statusCode(), "NUL");
        assertEquals(400, post("tea", form, base, "text/html", "&email=a%40b.c%0d%0aBcc%3Ax%40y.z&consent=yes").statusCode(),
                "a header injection in the e-mail field");
        assertEquals(400, post("tea", form, base, null, "&name=%zz").statusCode(), "bad percent-encoding");
        assertEquals(413, post("tea", form, base, "text/html", "&name=" + "x".repeat(5000)).statusCode());
        assertEquals(0, joined("tea"));
    }

    @Test
    void theWebCardLinkSurvivesARestart() throws Exception {
        String location = post("coffee", open("coffee"), base, "text/html", "").headers().firstValue("Location").orElseThrow();
        String code = QrDecode.text(getBytes(location + "/qr.png", null).body());
        sink.close();
        sink = config.start();
        base = "http://127.0.0.1:" + sink.httpPort();
        assertEquals(code, QrDecode.text(getBytes(location + "/qr.png", null).body()));
        assertEquals(200, get(location, "text/html").statusCode());
    }

    private JoinedCard card(HttpResponse<String> r) {
        assertEquals(303, r.statusCode(), r.body());
        Matcher m = WEB_CARD.matcher(r.headers().firstValue("Location").orElseThrow());
        assertTrue(m.matches());
        return new JoinStore(sink.store()).withLink(m.group(1), m.group(2)).orElseThrow();
    }

    @Test
    void thePosterFromTheApiLeadsToTheJoinPageAsPngAndAsPdf() throws Exception {
        assertEquals(401, getBytes("/api/v1/programs/coffee/poster.png", null).statusCode());
        assertEquals(401, getBytes("/api/v1/programs/coffee/poster.pdf", "wrong-token-wrong-token-wrong").statusCode());
        assertEquals(404, getBytes("/api/v1/programs/nosuch/poster.png", ADMIN).statusCode());
        HttpResponse<byte[]> png = getBytes("/api/v1/programs/coffee/poster.png", ADMIN);
        assertEquals(200, png.statusCode());
        assertEquals(PUBLIC_URL + "/join/coffee", QrDecode.text(png.body()));
        HttpResponse<byte[]> pdf = getBytes("/api/v1/programs/coffee/poster.pdf", ADMIN);
        assertEquals("application/pdf", pdf.headers().firstValue("Content-Type").orElseThrow());
        assertTrue(new String(pdf.body(), 0, 5, StandardCharsets.US_ASCII).equals("%PDF-"));
        assertEquals(PUBLIC_URL + "/join/coffee", QrDecode.text(QrDecode.pdfImage(pdf.body())));
        // an independent reader: poppler renders the page, ZXing reads the code off the rendering
        Path file = dir.resolve("poster.pdf");
        Files.write(file, pdf.body());
        assertEquals(PUBLIC_URL + "/join/coffee", QrDecode.text(ImageIO.read(render(file).toFile())));
    }

    static Path render(Path pdf) throws Exception {
        Path pdftoppm = Tools.require("pdftoppm", "poppler-utils");
        Path prefix = pdf.resolveSibling("page");
        Process p = new ProcessBuilder(pdftoppm.toString(), "-png", "-r", "100", "-singlefile", pdf.toString(), prefix.toString())
                .redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(60, TimeUnit.SECONDS), "pdftoppm did not finish");
        assertEquals(0, p.exitValue(), "pdftoppm: " + out);
        assertFalse(out.contains("Syntax Error") || out.contains("Syntax Warning"), "pdftoppm: " + out);
        return pdf.resolveSibling("page.png");
    }

    @Test
    void theCliWritesThePosterAndNamesTheMissingPublicUrl() throws Exception {
        Path file = config.write();
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        SinkCli cli = new SinkCli(new PrintStream(out, true, StandardCharsets.UTF_8), new PrintStream(err, true, StandardCharsets.UTF_8));
        Path pdf = dir.resolve("out/poster.pdf");
        assertEquals(SinkCli.OK, cli.run(new String[] {"program", "poster", "--program", "tea", "--out", pdf.toString(),
                "--config", file.toString()}), err.toString(StandardCharsets.UTF_8));
        assertEquals(PUBLIC_URL + "/join/tea", QrDecode.text(QrDecode.pdfImage(Files.readAllBytes(pdf))));
        Path png = dir.resolve("poster.png");
        assertEquals(SinkCli.OK, cli.run(new String[] {"programs", "poster", "--program", "coffee", "--out", png.toString(),
                "--config", file.toString()}));
        assertEquals(PUBLIC_URL + "/join/coffee", QrDecode.text(Files.readAllBytes(png)));
        assertEquals(SinkCli.USAGE, cli.run(new String[] {"program", "poster", "--program", "coffee", "--out", "x.jpg",
                "--config", file.toString()}));
        assertEquals(SinkCli.UNKNOWN_PROGRAM, cli.run(new String[] {"program", "poster", "--program", "nosuch", "--out",
                png.toString(), "--config", file.toString()}));
        config.unset("web.publicUrl").write();
        err.reset();
        assertEquals(SinkCli.CONFIG, cli.run(new String[] {"program", "poster", "--program", "coffee", "--out", png.toString(),
                "--config", file.toString()}));
        assertTrue(err.toString(StandardCharsets.UTF_8).contains("web.publicUrl: not set; the poster's QR code leads to "
                + "<web.publicUrl>/join/coffee"), err.toString(StandardCharsets.UTF_8));
    }
}
