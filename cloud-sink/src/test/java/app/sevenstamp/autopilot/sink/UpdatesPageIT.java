package app.sevenstamp.autopilot.sink;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import app.sevenstamp.autopilot.sink.fleet.FleetRegistry;
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
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Issue 14, item 5 (console part): the updates page over real HTTP: owners only; a stage started from it adds the box
 * to the rollout (pending), a form without the session's token is refused, and the update API refuses a version
 * republished with another file.
 */
class UpdatesPageIT {
    private static final String SHA = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";

    @TempDir
    Path dir;
    private ConsoleHttp console;

    private HttpResponse<String> admin(String token, String method, String path, String json) throws Exception {
        return console.send(console.at(path).header("Authorization", "Bearer " + token).header("Content-Type", "application/json")
                .method(method, json == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofString(json)));
    }

    @Test
    void anOwnerStartsAStageAndSeesTheBoxPendingOthersCannot() throws Exception {
        TestSink config = TestSink.in(dir).program("coffee", 10);
        try (SinkServer sink = config.start()) {
            console = new ConsoleHttp(sink.httpPort());
            String token = Files.readString(config.storeDir().resolve("admin.token")).trim();
            for (String account : List.of(
                    "{\"name\":\"olga\",\"role\":\"owner\",\"password\":\"olga owns every shop\"}",
                    "{\"name\":\"max\",\"role\":\"manager\",\"locations\":[\"shop-1\"],\"password\":\"max manages shop one\"}")) {
                assertEquals(201, admin(token, "POST", "/api/v1/operators", account).statusCode());
            }
            FleetRegistry registry = sink.fleet().registry();
            String claim = sink.fleet().createClaim("shop-1", 1, Duration.ofDays(1)).token();
            String id = ((FleetRegistry.Granted) registry.provision(claim, "hw-1", null, null, Instant.now(), "x",
                    loc -> loc + "-box1")).deviceId();

            String release = "{\"version\":\"0.2.0\",\"url\":\"https://u.example/gw_0.2.0_all.deb\",\"sha256\":\"" + SHA + "\",\"size\":1234}";
            assertEquals(201, admin(token, "POST", "/api/v1/updates", release).statusCode());
            HttpResponse<String> again = admin(token, "POST", "/api/v1/updates", release.replace("gw_0.2.0", "other"));
            assertEquals(409, again.statusCode(), again.body());
            assertTrue(again.body().contains("version 0.2.0 is published already with another file"), again.body());
            assertEquals(400, admin(token, "POST", "/api/v1/updates", release.replace("https://", "file://")).statusCode());

            String[] max = console.session("max", "max manages shop one");
            assertEquals(403, console.send(console.at("/console/updates").header("Cookie", "7s_session=" + max[0])).statusCode(), "owners only");
            String[] olga = console.session("olga", "olga owns every shop");
            HttpResponse<String> page = console.send(console.at("/console/updates").header("Cookie", "7s_session=" + olga[0]));
            assertEquals(200, page.statusCode(), page.body());
            assertTrue(page.body().contains("<option>0.2.0</option>"), page.body());
            assertTrue(page.body().contains(sink.updates().trustedKey()), "the key the boxes pin");
            HttpResponse<String> noToken = console.send(console.at("/console/updates/rollout").header("Cookie", "7s_session=" + olga[0])
                    .header("Content-Type", "application/x-www-form-urlencoded")
                    .POST(HttpRequest.BodyPublishers.ofString("version=0.2.0&stage=all")));
            assertNotEquals(303, noToken.statusCode(), "a form without the session's token");
            assertTrue(sink.updates().book().rows().isEmpty());
            HttpResponse<String> bad = console.send(console.at("/console/updates/rollout").header("Cookie", "7s_session=" + olga[0])
                    .header("Content-Type", "application/x-www-form-urlencoded")
                    .POST(HttpRequest.BodyPublishers.ofString("csrf=" + olga[1] + "&version=0.2.0&stage=some")));
            assertEquals(400, bad.statusCode());
            HttpResponse<String> started = console.send(console.at("/console/updates/rollout").header("Cookie", "7s_session=" + olga[0])
                    .header("Content-Type", "application/x-www-form-urlencoded")
                    .POST(HttpRequest.BodyPublishers.ofString("csrf=" + olga[1] + "&version=0.2.0&stage="
                            + URLEncoder.encode("one:" + id, StandardCharsets.UTF_8))));
            assertEquals(303, started.statusCode(), started.body());
            page = console.send(console.at("/console/updates").header("Cookie", "7s_session=" + olga[0]));
            assertTrue(page.body().contains("<tr><td>" + id + "</td><td>0.2.0</td><td>one:" + id + "</td><td>pending</td>"), page.body());
            HttpResponse<String> api = admin(token, "GET", "/api/v1/updates", null);
            assertTrue(api.body().contains("\"state\":\"pending\""), api.body());
        }
    }
}
