package app.sevenstamp.autopilot.sink;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import app.sevenstamp.autopilot.protocol.DeviceStatus;
import app.sevenstamp.autopilot.protocol.Topics;
import app.sevenstamp.autopilot.protocol.WireCodec;
import app.sevenstamp.autopilot.protocol.testing.Vectors;
import app.sevenstamp.autopilot.sink.cards.QrPng;
import app.sevenstamp.autopilot.sink.testing.TestSink;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import org.eclipse.paho.client.mqttv3.MqttClient;
import org.eclipse.paho.client.mqttv3.MqttConnectOptions;
import org.eclipse.paho.client.mqttv3.persist.MemoryPersistence;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.openqa.selenium.By;
import org.openqa.selenium.JavascriptExecutor;
import org.openqa.selenium.Keys;
import org.openqa.selenium.OutputType;
import org.openqa.selenium.TakesScreenshot;
import org.openqa.selenium.WebDriver;
import org.openqa.selenium.WebElement;
import org.openqa.selenium.chrome.ChromeDriver;
import org.openqa.selenium.chrome.ChromeDriverService;
import org.openqa.selenium.chrome.ChromeOptions;
import org.openqa.selenium.StaleElementReferenceException;
import org.openqa.selenium.support.ui.WebDriverWait;
import org.openqa.selenium.support.ui.Wait;

/**
 * Issue 14, item 6: the console in a real browser (Debian's chromium through chromium-driver and
 * Selenium). An owner signs in with the keyboard, sees a box online and then quiet when it drops off
 * the broker (its last will), stamps a card from a picture of its QR code on the counter page, adjusts
 * the card, gives and voids a voucher. Every page's inputs have labels, and the counter's result colours
 * have enough contrast. Screenshots go to target/screenshots (the README's come from there).
 */
class ConsoleBrowserIT {
    private static final String KEY = "pos-key-for-shop-1-0123456789abcdef";
    private static final Path SHOTS = Path.of("target", "screenshots");

    @TempDir
    Path dir;
    private WebDriver browser;
    private MqttClient box;

    @AfterEach
    void close() throws Exception {
        if (browser != null) {
            browser.quit();
        }
        if (box != null && box.isConnected()) {
            box.disconnectForcibly(0, 0, false);
        }
    }

    private WebDriver chromium() {
        ChromeOptions options = new ChromeOptions();
        options.setBinary("/usr/bin/chromium");
        options.addArguments("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1100,900",
                "--lang=en");
        ChromeDriverService service = new ChromeDriverService.Builder().usingDriverExecutable(Path.of("/usr/bin/chromedriver")
                .toFile()).build();
        return new ChromeDriver(service, options);
    }

    private void shot(String name) throws Exception {
        Files.createDirectories(SHOTS);
        Path png = ((TakesScreenshot) browser).getScreenshotAs(OutputType.FILE).toPath();
        Files.copy(png, SHOTS.resolve(name + ".png"), StandardCopyOption.REPLACE_EXISTING);
    }

    /**
     * Waits for a condition, looking again when the element it read was replaced meanwhile: a form's POST
     * reloads the page, so an element found just before the reload is stale when read (seen in CI).
     */
    private Wait<WebDriver> waiting() {
        return new WebDriverWait(browser, Duration.ofSeconds(20)).ignoring(StaleElementReferenceException.class);
    }

    /** Every input and select of the page has a label (for=id) or an aria-label; hidden inputs aside. */
    private void assertLabelled() {
        Object unlabelled = ((JavascriptExecutor) browser).executeScript(
                "return Array.from(document.querySelectorAll('input:not([type=hidden]), select, textarea'))"
                        + ".filter(e => !(e.id && document.querySelector('label[for=\"' + e.id + '\"]')) && !e.getAttribute('aria-label'))"
                        + ".map(e => e.outerHTML).join('\\n')");
        assertEquals("", unlabelled, browser.getCurrentUrl() + ": inputs without a label");
    }

    private byte[] status(boolean online, long backlog) {
        return new WireCodec().encode(new DeviceStatus(WireCodec.SCHEMA, "box-7", online, Instant.now(), "0.1.0", 1, 60, backlog,
                backlog > 0 ? 30 : 0, "serial", 1_000_000_000L, 45.0));
    }

    @Test
    void anOwnerRunsTheShopFromTheBrowser() throws Exception {
        TestSink config = TestSink.in(dir).vectorKey().program("coffee", 10).set("pos.shop-1.apiKey", KEY);
        try (SinkServer sink = config.start()) {
            String base = "http://127.0.0.1:" + sink.httpPort();
            String token = Files.readString(config.storeDir().resolve("admin.token")).trim();
            HttpResponse<String> owner = HttpClient.newHttpClient().send(HttpRequest.newBuilder(URI.create(base + "/api/v1/operators"))
                    .header("Authorization", "Bearer " + token).header("Content-Type", "application/json")
                    .POST(HttpRequest.BodyPublishers.ofString("{\"name\":\"olga\",\"role\":\"owner\",\"password\":\"olga owns every shop\"}"))
                    .build(), HttpResponse.BodyHandlers.ofString());
            assertEquals(201, owner.statusCode(), owner.body());

            // a box on the broker: online with a backlog, and a last will that says offline
            Topics topics = new Topics("7stamp/v1");
            box = new MqttClient(sink.brokerUrl(), "box-7", new MemoryPersistence());
            MqttConnectOptions o = new MqttConnectOptions();
            o.setWill(topics.status("box-7"), status(false, 2), 1, true);
            o.setKeepAliveInterval(2);
            box.connect(o);
            box.publish(topics.status("box-7"), status(true, 2), 1, true);

            browser = chromium();
            browser.get(base + "/console/fleet");
            assertTrue(browser.getCurrentUrl().contains("/console/login"), "sent to sign in first: " + browser.getCurrentUrl());
            assertLabelled();
            browser.findElement(By.id("name")).sendKeys("olga");
            browser.findElement(By.id("password")).sendKeys("olga owns every shop", Keys.ENTER); // the keyboard alone
            waiting().until(d -> d.getCurrentUrl().endsWith("/console/fleet"));
            waiting().until(d -> d.getPageSource().contains("box-7"));
            WebElement row = browser.findElement(By.xpath("//tr[td[text()='box-7']]"));
            assertEquals("", row.getAttribute("class"), "online at first");
            assertTrue(row.getText().contains("2 (oldest 30 s)"), row.getText());
            assertLabelled();
            shot("fleet");

            box.disconnectForcibly(0, 0, false); // the gateway stops: the broker sends its will after the keepalive
            await("the sink marks box-7 offline (the broker's will after the keepalive)").atMost(Duration.ofSeconds(30))
                    .until(() -> !sink.fleet().registry().device("box-7").orElseThrow().online());
            browser.navigate().refresh();
            WebElement quiet = browser.findElement(By.xpath("//tr[td[text()='box-7']]"));
            assertEquals("quiet", quiet.getAttribute("class"), "the box went offline: " + quiet.getText());

            // the counter: a picture of the card's QR code, read by jsQR in the page, stamped through the till path
            Path qr = dir.resolve("card.png");
            QrPng.write(Vectors.cardText("valid"), qr);
            browser.get(base + "/console/counter");
            assertLabelled();
            browser.findElement(By.id("photo")).sendKeys(qr.toAbsolutePath().toString());
            try {
                waiting().until(d -> d.findElement(By.id("result")).getText().startsWith("Stamped"));
            } catch (org.openqa.selenium.TimeoutException e) {
                shot("counter-failed");
                throw new AssertionError("no stamp; the page says: " + browser.findElement(By.id("result")).getText(), e);
            }
            WebElement result = browser.findElement(By.id("result"));
            assertTrue(result.getText().contains("1 of 10 stamps"), result.getText());
            double contrast = ((Number) ((JavascriptExecutor) browser).executeScript(
                    "function l(c){var v=c.match(/\\d+/g).slice(0,3).map(Number).map(x=>x/255).map(x=>x<=0.03928?x/12.92:"
                            + "Math.pow((x+0.055)/1.055,2.4));return 0.2126*v[0]+0.7152*v[1]+0.0722*v[2];}"
                            + "var s=getComputedStyle(arguments[0]);var a=l(s.color),b=l(s.backgroundColor);"
                            + "return (Math.max(a,b)+0.05)/(Math.min(a,b)+0.05);", result)).doubleValue();
            assertTrue(contrast >= 4.5, "the result's contrast is " + contrast + ", WCAG AA asks 4.5");
            shot("counter");
            assertEquals(1, sink.store().card("ABCDEFGHJKMNPQRS").orElseThrow().balance().stamps());

            // the card: found, adjusted with a reason
            browser.get(base + "/console/cards?id=ABCDEFGHJKMNPQRS");
            assertLabelled();
            WebElement stamps = browser.findElement(By.id("stamps"));
            stamps.clear();
            stamps.sendKeys("2");
            browser.findElement(By.id("adjust-reason")).sendKeys("two missed scans", Keys.ENTER);
            try {
                waiting().until(d -> d.getPageSource().contains("<strong>3 of 10 stamps</strong>"));
            } catch (org.openqa.selenium.TimeoutException e) {
                throw new AssertionError("not adjusted: " + browser.getCurrentUrl() + "\n" + browser.getPageSource(), e);
            }
            assertTrue(browser.getPageSource().contains("two missed scans"));
            shot("cards");

            // a voucher given and voided
            browser.get(base + "/console/vouchers");
            assertLabelled();
            browser.findElement(By.id("title")).sendKeys("Free cake");
            browser.findElement(By.id("card")).sendKeys("ABCDEFGHJKMNPQRS");
            browser.findElement(By.id("reason")).sendKeys("late order", Keys.ENTER);
            waiting().until(d -> d.getPageSource().contains("Free cake"));
            browser.findElement(By.xpath("//tr[td[text()='Free cake']]//button[text()='Void']")).click();
            waiting().until(d -> d.findElement(By.xpath("//tr[td[text()='Free cake']]")).getText().contains("expired"));
            shot("vouchers");

            browser.get(base + "/console/live");
            waiting().until(d -> d.findElement(By.id("stamps-today")).getText().equals("1"));
            Object chartLoaded = ((JavascriptExecutor) browser).executeScript(
                    "var i=document.getElementById('chart-hour');return i.complete && i.naturalWidth > 0;");
            assertEquals(Boolean.TRUE, chartLoaded, "the chart image loads under the page's policy");
            shot("live");
            for (String name : List.of("fleet", "counter", "cards", "vouchers", "live")) {
                assertTrue(Files.size(SHOTS.resolve(name + ".png")) > 10_000, name + ".png is a real picture");
            }
        }
    }
}
