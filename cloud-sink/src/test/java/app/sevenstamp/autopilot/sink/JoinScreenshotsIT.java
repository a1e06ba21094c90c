package app.sevenstamp.autopilot.sink;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import app.sevenstamp.autopilot.protocol.EventIds;
import app.sevenstamp.autopilot.protocol.EventKind;
import app.sevenstamp.autopilot.protocol.StampEvent;
import app.sevenstamp.autopilot.protocol.Topics;
import app.sevenstamp.autopilot.protocol.WireCodec;
import app.sevenstamp.autopilot.protocol.card.CardCheck;
import app.sevenstamp.autopilot.protocol.card.CardVerifier;
import app.sevenstamp.autopilot.protocol.testing.Vectors;
import app.sevenstamp.autopilot.sink.join.QrDecode;
import app.sevenstamp.autopilot.sink.testing.TestSink;
import java.awt.image.BufferedImage;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
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
import javax.imageio.ImageIO;
import org.eclipse.paho.client.mqttv3.MqttClient;
import org.eclipse.paho.client.mqttv3.persist.MemoryPersistence;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The customer's side in a real browser: Debian's chromium, headless, at a phone's size (390 x 844 CSS
 * pixels, twice as many device pixels), opens the join page and a web card with three stamps. The
 * screenshots are written to docs/images/ (the README shows them) and checked: they exist, are not
 * blank, and the web card's QR code, as the browser drew it, reads back as a card code that verifies.
 * Then the sink stops, and the same browser opens the web card again: its service worker must answer
 * from the cache that the first visit filled. The browser is driven over the DevTools protocol
 * ({@link Chromium}), so the test waits for that cache instead of sleeping (chromium's one-shot
 * {@code --screenshot} quit before the page had cached the card, and what it kept of the service worker
 * varied from run to run).
 */
class JoinScreenshotsIT {
    private static final Path IMAGES = Path.of(System.getProperty("basedir", ".")).toAbsolutePath().resolve("../docs/images").normalize();

    /** The QR image is loaded and decoded, and a frame has been drawn since. */
    private static final String QR_DRAWN = "(() => { const i = document.querySelector('img.qr'); return i && i.complete "
            + "&& i.naturalWidth > 0 && i.decode().then(() => new Promise(r => requestAnimationFrame(() => r(true)))); })()";

    @TempDir
    Path dir;
    private SinkServer sink;
    private String base;
    private final HttpClient http = HttpClient.newHttpClient();

    @BeforeEach
    void start() throws Exception {
        sink = TestSink.in(dir).vectorKey().program("coffee", 8).set("program.coffee.name", "Zimt & Bohne Coffee").start();
        base = "http://127.0.0.1:" + sink.httpPort();
    }

    @AfterEach
    void stop() {
        if (sink != null) {
            sink.close();
        }
    }

    @Test
    void theJoinPageAndTheWebCardAsAPhoneShowsThemAlsoOffline() throws Exception {
        Path joinPage = IMAGES.resolve("join-page.png");
        Path webCard = IMAGES.resolve("web-card.png");
        Files.createDirectories(IMAGES);
        Files.deleteIfExists(joinPage);
        Files.deleteIfExists(webCard);
        try (Chromium browser = Chromium.start(dir.resolve("chromium"))) {
            browser.open(base + "/join/coffee");
            Files.write(joinPage, browser.screenshot());
            String location = join();
            String code = stampThrice(location);
            browser.open(base + location);
            browser.await("the QR code drawn", QR_DRAWN);
            browser.await("the web card's offline copy", "navigator.serviceWorker.ready.then(() => caches.open('webcard-v1'))"
                    + ".then(c => c.keys()).then(k => k.length >= 4)");
            Files.write(webCard, browser.screenshot());

            for (Path shot : List.of(joinPage, webCard)) {
                assertTrue(Files.size(shot) > 10_000, shot + " is only " + Files.size(shot) + " bytes");
                BufferedImage image = ImageIO.read(shot.toFile());
                assertEquals(780, image.getWidth(), shot + ": 390 CSS pixels at scale 2");
                double ink = inked(image);
                assertTrue(ink > 0.01 && ink < 0.6, shot + " looks blank or broken: " + Math.round(ink * 100) + " % dark pixels");
            }
            String read = decode("the web card's QR code", ImageIO.read(new java.io.ByteArrayInputStream(browser.screenshotOf("img.qr"))));
            assertEquals(code, read, "the QR code the browser drew");
            CardCheck check = CardVerifier.parse(List.of(Vectors.json("card-codes.json").get("trusted").asText())).verify(read);
            assertInstanceOf(CardCheck.Valid.class, check);
            // the pages load everything from this server under their strict policy: no refusal, no error
            for (String line : browser.console()) {
                assertFalse(line.contains("Content Security Policy") || line.startsWith("error") || line.startsWith("warning"),
                        "browser console: " + browser.console());
            }

            // offline: the sink is gone (connections refused); the service worker answers from its cache
            sink.close();
            sink = null;
            browser.open(base + location);
            browser.await("the QR code drawn offline", QR_DRAWN);
            assertEquals(code, decode("the offline web card's QR code", ImageIO.read(new java.io.ByteArrayInputStream(browser.screenshotOf("img.qr")))),
                    "the web card, offline");
        }
    }

    /** Joins as a browser would: opens the form, posts it with its cookie; returns the web card's path. */
    private String join() throws Exception {
        HttpResponse<String> page = http.send(HttpRequest.newBuilder(URI.create(base + "/join/coffee")).build(),
                HttpResponse.BodyHandlers.ofString());
        Matcher t = Pattern.compile("name=\"t\" value=\"([^\"]+)\"").matcher(page.body());
        Matcher c = Pattern.compile("join_form=([^;]+)").matcher(page.headers().firstValue("Set-Cookie").orElseThrow());
        assertTrue(t.find() && c.find());
        HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create(base + "/join/coffee"))
                .header("Content-Type", "application/x-www-form-urlencoded").header("Cookie", "join_form=" + c.group(1))
                .header("Origin", base).header("Accept", "text/html")
                .POST(HttpRequest.BodyPublishers.ofString("t=" + URLEncoder.encode(t.group(1), StandardCharsets.UTF_8))).build(),
                HttpResponse.BodyHandlers.ofString());
        assertEquals(303, r.statusCode(), r.body());
        return r.headers().firstValue("Location").orElseThrow();
    }

    /** Three stamps from a counter box, over MQTT; returns the card's code (read from its QR image). */
    private String stampThrice(String location) throws Exception {
        byte[] qr = http.send(HttpRequest.newBuilder(URI.create(base + location + "/qr.png")).build(),
                HttpResponse.BodyHandlers.ofByteArray()).body();
        String code = decode("the card's qr.png", ImageIO.read(new java.io.ByteArrayInputStream(qr)));
        String[] parts = code.split("\\.");
        Topics topics = new Topics(Topics.DEFAULT_PREFIX);
        WireCodec codec = new WireCodec();
        MqttClient box = new MqttClient(sink.brokerUrl(), "screenshot-box", new MemoryPersistence());
        try {
            box.connect();
            for (int seq = 1; seq <= 3; seq++) {
                StampEvent e = new StampEvent(WireCodec.SCHEMA, EventIds.next(System.currentTimeMillis()), "counter-1", seq,
                        code, parts[2], parts[3], "shop-1", Instant.now(), System.nanoTime(), "boot-shot", true, EventKind.STAMP);
                box.publish(topics.stamps("counter-1"), codec.encode(e), 1, false);
            }
            await().atMost(Duration.ofSeconds(10)).until(() -> sink.store().card(parts[3])
                    .map(s -> s.balance().stamps() == 3).orElse(false));
            box.disconnect(500);
        } finally {
            box.close();
        }
        return code;
    }

    /** The QR code's text; a failure names the image and keeps it in the test's folder. */
    private String decode(String what, BufferedImage image) throws Exception {
        try {
            return QrDecode.text(image);
        } catch (com.google.zxing.ReaderException e) {
            Path kept = Path.of("/tmp", "undecodable-" + System.nanoTime() + ".png");
            ImageIO.write(image, "png", kept.toFile());
            throw new AssertionError("no QR code read from " + what + " (" + e.getClass().getSimpleName() + "), kept as " + kept);
        }
    }

    /** The share of clearly dark pixels. */
    private static double inked(BufferedImage image) {
        long dark = 0;
        for (int y = 0; y < image.getHeight(); y++) {
            for (int x = 0; x < image.getWidth(); x++) {
                int rgb = image.getRGB(x, y);
                int lum = (((rgb >> 16) & 0xFF) * 3 + ((rgb >> 8) & 0xFF) * 6 + (rgb & 0xFF)) / 10;
                if (lum < 128) {
                    dark++;
                }
            }
        }
        return dark / (double) ((long) image.getWidth() * image.getHeight());
    }
}
