package app.sevenstamp.autopilot.sink;

import app.sevenstamp.autopilot.protocol.testing.Tools;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.WebSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Debian's chromium, headless, driven over the DevTools protocol with the JDK's own WebSocket client:
 * one browser (one profile) for several visits, so a test can wait on a condition in the page (the
 * service worker's cache being filled) instead of sleeping, and see the console. Not thread-safe: one
 * test drives it.
 */
final class Chromium implements AutoCloseable {
    private static final Pattern LISTENING = Pattern.compile("DevTools listening on (ws://\\S+)");
    private static final Duration WAIT = Duration.ofSeconds(60);

    private final Process process;
    private final Path log;
    private final WebSocket socket;
    private final Path profile;
    private final ObjectMapper json = new ObjectMapper();
    private final AtomicInteger ids = new AtomicInteger();
    private final Map<Integer, CompletableFuture<JsonNode>> answers = new ConcurrentHashMap<>();
    private final List<String> console = new CopyOnWriteArrayList<>();
    private volatile CompletableFuture<Void> loaded = new CompletableFuture<>();

    private Chromium(Process process, Path log, WebSocket socket, Path profile) {
        this.process = process;
        this.log = log;
        this.socket = socket;
        this.profile = profile;
    }

    /**
     * Starts chromium on a new profile with a phone's viewport (390 x 844, scale 2); its log goes to {@code dir}.
     * The profile lives in a folder of its own, not in the test's: chromium's helper processes can still write
     * into it after the browser exited, and JUnit then fails the test because it cannot delete its folder.
     */
    static Chromium start(Path dir) throws Exception {
        Path chromium = Tools.require("chromium", "chromium");
        Files.createDirectories(dir);
        Path log = dir.resolve("chromium.log");
        Path profile = Files.createTempDirectory("chromium-profile-");
        Process p = new ProcessBuilder(chromium.toString(), "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                "--hide-scrollbars", "--remote-debugging-port=0", "--remote-allow-origins=*",
                "--user-data-dir=" + profile, "about:blank")
                .redirectErrorStream(true).redirectOutput(log.toFile()).start();
        String browserUrl = null;
        long deadline = System.nanoTime() + WAIT.toNanos();
        while (browserUrl == null) {
            Matcher m = LISTENING.matcher(Files.readString(log));
            if (m.find()) {
                browserUrl = m.group(1);
            } else if (!p.isAlive() || System.nanoTime() > deadline) {
                p.destroyForcibly();
                throw new AssertionError("chromium did not open its DevTools port: " + Files.readString(log));
            } else {
                Thread.sleep(50);
            }
        }
        URI browser = URI.create(browserUrl);
        HttpClient http = HttpClient.newHttpClient();
        String pageUrl = null;
        while (pageUrl == null) {
            JsonNode targets = new ObjectMapper().readTree(http.send(HttpRequest.newBuilder(
                    URI.create("http://" + browser.getAuthority() + "/json/list")).build(), HttpResponse.BodyHandlers.ofString()).body());
            for (JsonNode t : targets) {
                if ("page".equals(t.path("type").asText())) {
                    pageUrl = t.get("webSocketDebuggerUrl").asText();
                }
            }
            if (pageUrl == null) {
                if (!p.isAlive() || System.nanoTime() > deadline) {
                    p.destroyForcibly();
                    throw new AssertionError("chromium opened no page target within " + WAIT.toSeconds() + " s: " + targets
                            + "\n" + Files.readString(log));
                }
                Thread.sleep(50); // the DevTools HTTP list offers no way to wait for a target
            }
        }
        Chromium[] self = new Chromium[1];
        StringBuilder partial = new StringBuilder();
        WebSocket socket = http.newWebSocketBuilder().buildAsync(URI.create(pageUrl), new WebSocket.Listener() {
            @Override
            public CompletionStage<?> onText(WebSocket ws, CharSequence data, boolean last) {
                partial.append(data);
                if (last) {
                    String message = partial.toString();
                    partial.setLength(0);
                    self[0].received(message);
                }
                ws.request(1);
                return null;
            }
        }).get(30, TimeUnit.SECONDS);
        Chromium c = new Chromium(p, log, socket, profile);
        self[0] = c;
        c.call("Page.enable", Map.of());
        c.call("Runtime.enable", Map.of());
        c.call("Log.enable", Map.of());
        c.call("Emulation.setDeviceMetricsOverride", Map.of("width", 390, "height", 844, "deviceScaleFactor", 2, "mobile", true));
        return c;
    }

    private void received(String message) {
        try {
            JsonNode m = json.readTree(message);
            if (m.has("id")) {
                CompletableFuture<JsonNode> f = answers.remove(m.get("id").asInt());
                if (f != null) {
                    f.complete(m);
                }
                return;
            }
            switch (m.path("method").asText()) {
                case "Page.loadEventFired" -> loaded.complete(null);
                case "Runtime.consoleAPICalled" -> console.add(m.get("params").get("type").asText() + ": "
                        + m.get("params").get("args").toString());
                case "Log.entryAdded" -> console.add(m.get("params").get("entry").get("level").asText() + ": "
                        + m.get("params").get("entry").get("text").asText() + " " + m.get("params").get("entry").path("url").asText());
                default -> {
                }
            }
        } catch (IOException e) {
            console.add("unreadable DevTools message: " + e.getMessage());
        }
    }

    /** One DevTools command; its result, or an AssertionError with the protocol's error. */
    JsonNode call(String method, Map<String, Object> params) throws Exception {
        int id = ids.incrementAndGet();
        CompletableFuture<JsonNode> answer = new CompletableFuture<>();
        answers.put(id, answer);
        ObjectNode m = json.createObjectNode();
        m.put("id", id);
        m.put("method", method);
        m.set("params", json.valueToTree(params));
        socket.sendText(json.writeValueAsString(m), true).get(30, TimeUnit.SECONDS);
        JsonNode a = answer.get(WAIT.toSeconds(), TimeUnit.SECONDS);
        if (a.has("error")) {
            throw new AssertionError(method + ": " + a.get("error"));
        }
        return a.get("result");
    }

    /** Opens the address and waits for its load event. */
    void open(String url) throws Exception {
        loaded = new CompletableFuture<>();
        call("Page.navigate", Map.of("url", url));
        loaded.get(WAIT.toSeconds(), TimeUnit.SECONDS);
    }

    /** Waits until the JavaScript expression (a promise may be returned) is true in the page. */
    void await(String what, String expression) throws Exception {
        long deadline = System.nanoTime() + WAIT.toNanos();
        JsonNode last = null;
        while (System.nanoTime() < deadline) {
            last = call("Runtime.evaluate", Map.of("expression", expression, "awaitPromise", true, "returnByValue", true));
            if (last.path("result").path("value").asBoolean(false)) {
                return;
            }
            Thread.sleep(100);
        }
        throw new AssertionError(what + " not within " + WAIT.toSeconds() + " s; last: " + last + "; console: " + console);
    }

    byte[] screenshot() throws Exception {
        return Base64.getDecoder().decode(call("Page.captureScreenshot", Map.of("format", "png")).get("data").asText());
    }

    /**
     * Only the first element matching {@code selector}, at the page's scale: a QR code read from it is the code
     * as drawn, without the page around it (ZXing's search of a whole page once took a pattern in a flawless
     * code's data for a finder pattern and misread it, JoinScreenshotsIT in CI).
     */
    byte[] screenshotOf(String selector) throws Exception {
        JsonNode r = call("Runtime.evaluate", Map.of("expression", "(() => { const r = document.querySelector("
                + json.writeValueAsString(selector) + ").getBoundingClientRect(); "
                + "return [r.x + window.scrollX, r.y + window.scrollY, r.width, r.height]; })()", "returnByValue", true));
        JsonNode box = r.path("result").path("value");
        if (!box.isArray() || box.size() != 4) {
            throw new AssertionError("no element " + selector + ": " + r);
        }
        Map<String, Object> clip = Map.of("x", box.get(0).asDouble(), "y", box.get(1).asDouble(), "width",
                box.get(2).asDouble(), "height", box.get(3).asDouble(), "scale", 1);
        return Base64.getDecoder().decode(call("Page.captureScreenshot", Map.of("format", "png", "clip", clip,
                "captureBeyondViewport", true)).get("data").asText());
    }

    /** What the page's console and the browser's log said so far. */
    List<String> console() {
        return List.copyOf(console);
    }

    @Override
    public void close() throws Exception {
        List<ProcessHandle> helpers = process.descendants().toList();
        try {
            socket.abort();
        } finally {
            process.destroy();
            if (!process.waitFor(10, TimeUnit.SECONDS)) {
                process.destroyForcibly();
            }
            for (ProcessHandle h : helpers) {
                h.destroy();
                try {
                    h.onExit().get(5, TimeUnit.SECONDS);
                } catch (java.util.concurrent.TimeoutException e) {
                    h.destroyForcibly();
                }
            }
            deleteQuietly(profile);
        }
    }

    /** Best effort: a helper process that outlived everything may still hold a file; /tmp is cleaned anyway. */
    private static void deleteQuietly(Path dir) {
        try (var files = Files.walk(dir)) {
            files.sorted(java.util.Comparator.reverseOrder()).forEach(f -> f.toFile().delete());
        } catch (IOException | java.io.UncheckedIOException e) {
            // left for the system's /tmp cleaning
        }
    }

    @Override
    public String toString() {
        return "chromium (log " + log + ")";
    }
}
