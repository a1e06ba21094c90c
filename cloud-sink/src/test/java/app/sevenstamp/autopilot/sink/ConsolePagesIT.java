package app.sevenstamp.autopilot.sink;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import app.sevenstamp.autopilot.protocol.testing.Vectors;
import app.sevenstamp.autopilot.sink.fleet.FleetRegistry;
import app.sevenstamp.autopilot.sink.store.Ledger;
import app.sevenstamp.autopilot.sink.store.LedgerEntry;
import app.sevenstamp.autopilot.sink.testing.TestSink;
import java.net.URLEncoder;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Issue 14, item 2 (part): the fleet, cards and problems pages over real HTTP: a quiet box is marked
 * and a manager sees only the boxes of their locations; a card is found, adjusted with a reason and
 * undone, each ledger line naming the person; dead letters and gaps are listed.
 */
@Tag("quick")
class ConsolePagesIT {
    private static final String KEY = "pos-key-for-shop-1-0123456789abcdef";

    @TempDir
    Path dir;
    private ConsoleHttp console;

    @Test
    void fleetCardsAndProblems() throws Exception {
        TestSink config = TestSink.in(dir).vectorKey().program("coffee", 10).set("pos.shop-1.apiKey", KEY);
        try (SinkServer sink = config.start()) {
            console = new ConsoleHttp(sink.httpPort());
            String token = Files.readString(config.storeDir().resolve("admin.token")).trim();
            for (String account : List.of(
                    "{\"name\":\"olga\",\"role\":\"owner\",\"password\":\"olga owns every shop\"}",
                    "{\"name\":\"max\",\"role\":\"manager\",\"locations\":[\"shop-2\"],\"password\":\"max manages shop two\"}",
                    "{\"name\":\"sam\",\"role\":\"staff\",\"locations\":[\"shop-1\"],\"password\":\"sam is at the counter\"}")) {
                assertEquals(201, console.send(console.at("/api/v1/operators").header("Authorization", "Bearer " + token)
                        .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString(account))).statusCode());
            }
            // two boxes: one reporting now, one silent for ten minutes
            FleetRegistry registry = sink.fleet().registry();
            String claim = sink.fleet().createClaim("shop-1", 2, Duration.ofDays(1)).token();
            String[] ids = new String[2];
            for (int i = 0; i < 2; i++) {
                var granted = (FleetRegistry.Granted) registry.provision(claim, "hw-" + i, null, null, Instant.now(), "x",
                        loc -> loc + "-box" + System.nanoTime());
                ids[i] = granted.deviceId();
            }
            registry.noteStatus(ids[0], true, "{\"backlog\":3,\"oldestUnsentAgeSeconds\":12,\"scanner\":\"serial\","
                    + "\"storage\":\"ok\",\"version\":\"0.1.0\"}", Instant.now());
            registry.noteStatus(ids[1], true, "{\"backlog\":0,\"scanner\":\"missing\"}", Instant.now().minusSeconds(600));

            String[] olga = console.session("olga", "olga owns every shop");
            HttpResponse<String> fleet = console.page(olga, "/console/fleet");
            assertEquals(200, fleet.statusCode(), fleet.body());
            assertTrue(fleet.body().contains("<tr class=\"quiet\"><td>" + ids[1]), fleet.body());
            assertTrue(fleet.body().contains("3 (oldest 12 s)"), fleet.body());
            assertTrue(fleet.body().indexOf(ids[1]) < fleet.body().indexOf(ids[0]), "the quiet box comes first");
            String[] max = console.session("max", "max manages shop two");
            assertTrue(!console.page(max, "/console/fleet").body().contains(ids[0]), "a manager of shop-2 sees no box of shop-1");
            assertEquals(404, console.post(max, "/console/fleet/" + ids[0] + "/command", "command=restart").statusCode());
            String[] sam = console.session("sam", "sam is at the counter");
            assertEquals(403, console.page(sam, "/console/fleet").statusCode(), "staff have the counter page only");

            // a card: stamped by a till, found, adjusted and undone with reasons
            assertEquals(200, console.send(console.at("/api/v1/stamps").header("Authorization", "Bearer " + KEY).header("Idempotency-Key", "r-1")
                    .POST(HttpRequest.BodyPublishers.ofString("{\"cardCode\":\"" + Vectors.cardText("valid") + "\"}"))).statusCode());
            HttpResponse<String> card = console.page(olga, "/console/cards?id=abcdefghjkmnpqrs");
            assertEquals(200, card.statusCode(), card.body());
            assertTrue(card.body().contains("<strong>1 of 10 stamps</strong>"), card.body());
            assertEquals(400, console.post(olga, "/console/cards/ABCDEFGHJKMNPQRS/adjust", "stamps=2&rewards=0&reason=").statusCode());
            assertEquals(400, console.post(olga, "/console/cards/ABCDEFGHJKMNPQRS/adjust", "stamps=5000&rewards=0&reason=x").statusCode());
            HttpResponse<String> adjusted = console.post(olga, "/console/cards/ABCDEFGHJKMNPQRS/adjust", "stamps=2&rewards=0&reason="
                    + URLEncoder.encode("missed scans on Monday", StandardCharsets.UTF_8));
            assertEquals(303, adjusted.statusCode(), adjusted.body());
            assertEquals(303, console.post(olga, "/console/cards/ABCDEFGHJKMNPQRS/undo", "reason=double+scan").statusCode());
            List<LedgerEntry> lines = new Ledger(sink.store()).entries("ABCDEFGHJKMNPQRS");
            assertEquals("operator:olga", lines.get(lines.size() - 2).actor(), "the person, not the body's word");
            assertEquals("missed scans on Monday", lines.get(lines.size() - 2).note());
            assertEquals("operator:olga", lines.get(lines.size() - 1).actor());
            assertEquals(2, sink.store().card("ABCDEFGHJKMNPQRS").orElseThrow().balance().stamps());
            assertTrue(console.page(olga, "/console/cards?id=ABCDEFGHJKMNPQRS").body().contains("double scan"));
            HttpResponse<String> noCsrf = console.send(console.at("/console/cards/ABCDEFGHJKMNPQRS/undo").header("Cookie", "7s_session=" + olga[0])
                    .header("Content-Type", "application/x-www-form-urlencoded").POST(HttpRequest.BodyPublishers.ofString("reason=x")));
            assertEquals(403, noCsrf.statusCode(), "a form without the session's token");

            HttpResponse<String> live = console.page(olga, "/console/live");
            assertEquals(200, live.statusCode(), live.body());
            assertTrue(live.body().contains("<strong id=\"stamps-today\">1</strong> stamps"), live.body());
            HttpResponse<String> chart = console.page(olga, "/console/live/hour.svg");
            assertEquals("image/svg+xml", chart.headers().firstValue("Content-Type").orElse(""));
            assertTrue(chart.body().contains("<polyline") && chart.body().contains(">shop-1</text>"), chart.body());
            assertTrue(!console.page(max, "/console/live/hour.svg").body().contains("shop-1"), "a manager of shop-2 sees no shop-1 line");
            assertEquals(404, console.page(olga, "/console/live/week.svg").statusCode());

            // a goodwill voucher given and voided; a reward voucher cannot be voided here
            assertEquals(303, console.post(olga, "/console/vouchers", "title=Free+cake&card=ABCDEFGHJKMNPQRS&valid=30d&reason=late+order")
                    .statusCode());
            HttpResponse<String> list = console.page(olga, "/console/vouchers");
            Matcher code = Pattern.compile("<code>(7V-[A-Z0-9-]+)</code></td><td>Free cake").matcher(list.body());
            assertTrue(code.find(), list.body());
            assertTrue(list.body().contains("/void\">"), "a void button for the unused goodwill voucher");
            assertEquals(400, console.post(olga, "/console/vouchers", "title=&reason=x").statusCode());
            assertEquals(409, console.post(olga, "/console/vouchers", "title=Tea&card=ZZZZ2222YYYY3333&valid=7d&reason=x").statusCode(),
                    "a card the sink does not know");
            assertEquals(303, console.post(olga, "/console/vouchers/" + code.group(1) + "/void", "x=1").statusCode());
            assertTrue(console.page(olga, "/console/vouchers").body().contains(code.group(1) + "</code></td><td>Free cake</td><td>"
                    + "ABCDEFGHJKMNPQRS</td><td>goodwill</td><td>expired"), "voided");
            assertEquals(409, console.post(olga, "/console/vouchers/" + code.group(1) + "/void", "x=1").statusCode(), "voided once");

            HttpResponse<String> problems = console.page(olga, "/console/problems");
            assertEquals(200, problems.statusCode(), problems.body());
            assertTrue(problems.body().contains("None: every message"), problems.body());
            String audit = console.send(console.at("/api/v1/audit").header("Authorization", "Bearer " + token)).body();
            assertTrue(audit.contains("\"actor\":\"olga\",\"action\":\"card-adjust\""), audit);
            assertTrue(audit.contains("\"actor\":\"olga\",\"action\":\"voucher-voided\""), audit);
        }
    }
}
