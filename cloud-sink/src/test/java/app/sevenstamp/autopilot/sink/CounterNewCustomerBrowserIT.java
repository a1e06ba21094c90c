package app.sevenstamp.autopilot.sink;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import app.sevenstamp.autopilot.sink.join.QrDecode;
import app.sevenstamp.autopilot.sink.testing.TestSink;
import java.io.ByteArrayInputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import javax.imageio.ImageIO;
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
 * Issue 14, items 2 and 3, in a real browser (Debian's chromium through chromium-driver and Selenium):
 * on a phone-sized window the counter's "new customer" button shows the program's join QR over the whole
 * screen, readable from the screenshot itself (decoded to the join page's address), and one tap or Escape
 * goes back to scanning; an owner changes a program's cooldown on the programs page with the keyboard.
 * Screenshots go to target/screenshots.
 */
class CounterNewCustomerBrowserIT {
    private static final String KEY = "pos-key-for-shop-1-0123456789abcdef";
    private static final Path SHOTS = Path.of("target", "screenshots");

    @TempDir
    Path dir;
    private WebDriver browser;

    @AfterEach
    void close() {
        if (browser != null) {
            browser.quit();
        }
    }

    private WebDriver chromium() {
        ChromeOptions options = new ChromeOptions();
        options.setBinary("/usr/bin/chromium");
        // a phone's screen, upright: the QR code must fit it
        options.addArguments("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=412,860", "--lang=en");
        ChromeDriverService service = new ChromeDriverService.Builder().usingDriverExecutable(Path.of("/usr/bin/chromedriver")
                .toFile()).build();
        return new ChromeDriver(service, options);
    }

    private byte[] shot(String name) throws Exception {
        Files.createDirectories(SHOTS);
        byte[] png = ((TakesScreenshot) browser).getScreenshotAs(OutputType.BYTES);
        Files.write(SHOTS.resolve(name + ".png"), png);
        return png;
    }

    /**
     * Waits for a condition, looking again when the element it read was replaced meanwhile: a form's POST
     * reloads the page, so an element found just before the reload is stale when read (seen in CI).
     */
    private Wait<WebDriver> waiting() {
        return new WebDriverWait(browser, Duration.ofSeconds(20)).ignoring(StaleElementReferenceException.class);
    }

    private Object js(String script, Object... args) {
        return ((JavascriptExecutor) browser).executeScript(script, args);
    }

    @Test
    void newCustomerShowsTheJoinQrFullScreenAndBack() throws Exception {
        TestSink config = TestSink.in(dir).vectorKey().set("program.coffee.name", "Coffee card").program("coffee", 10)
                .set("pos.shop-1.apiKey", KEY).set("web.publicUrl", "https://stamps.example.com");
        try (SinkServer sink = config.start()) {
            String base = "http://127.0.0.1:" + sink.httpPort();
            String token = Files.readString(config.storeDir().resolve("admin.token")).trim();
            HttpResponse<String> owner = HttpClient.newHttpClient().send(HttpRequest.newBuilder(URI.create(base + "/api/v1/operators"))
                    .header("Authorization", "Bearer " + token).header("Content-Type", "application/json")
                    .POST(HttpRequest.BodyPublishers.ofString("{\"name\":\"olga\",\"role\":\"owner\",\"password\":\"olga owns every shop\"}"))
                    .build(), HttpResponse.BodyHandlers.ofString());
            assertEquals(201, owner.statusCode(), owner.body());

            browser = chromium();
            browser.get(base + "/console/counter");
            browser.findElement(By.id("name")).sendKeys("olga");
            browser.findElement(By.id("password")).sendKeys("olga owns every shop", Keys.ENTER);
            waiting().until(d -> d.getCurrentUrl().endsWith("/console/counter"));
            WebElement button = browser.findElement(By.id("new-customer-coffee"));
            WebElement overlay = browser.findElement(By.id("join-coffee"));
            assertTrue(!overlay.isDisplayed(), "hidden until asked for");

            button.click();
            waiting().until(d -> overlay.isDisplayed());
            WebElement qr = overlay.findElement(By.cssSelector("img.join-qr"));
            waiting().until(d -> Boolean.TRUE.equals(js("return arguments[0].complete && arguments[0].naturalWidth > 0;", qr)));
            @SuppressWarnings("unchecked")
            List<Number> box = (List<Number>) js("var r=arguments[0].getBoundingClientRect();"
                    + "return [r.left, r.top, r.width, r.height, window.innerWidth, window.innerHeight];", overlay);
            assertEquals(0, box.get(0).intValue());
            assertEquals(0, box.get(1).intValue());
            assertEquals(box.get(4).intValue(), box.get(2).intValue(), "the whole width: " + box);
            assertEquals(box.get(5).intValue(), box.get(3).intValue(), "the whole height: " + box);
            double qrWidth = ((Number) js("return arguments[0].getBoundingClientRect().width;", qr)).doubleValue();
            assertTrue(qrWidth >= 0.8 * box.get(4).doubleValue(), "large: " + qrWidth + " px of " + box.get(4) + " px");
            assertEquals("join-back", js("return document.activeElement.className;"), "the back button has the focus");
            byte[] png = shot("counter-new-customer");
            // read from what the screen shows, as a customer's phone would
            assertEquals("https://stamps.example.com/join/coffee", QrDecode.text(ImageIO.read(new ByteArrayInputStream(png))));
            assertTrue(overlay.getText().contains("Scan to join: Coffee card"), overlay.getText());

            new org.openqa.selenium.interactions.Actions(browser).sendKeys(Keys.ESCAPE).perform();
            waiting().until(d -> !overlay.isDisplayed());
            assertEquals("new-customer-coffee", js("return document.activeElement.id;"), "the focus is back on the button");

            button.click();
            waiting().until(d -> overlay.isDisplayed());
            overlay.findElement(By.cssSelector("button.join-back")).click(); // one tap
            waiting().until(d -> !overlay.isDisplayed());
            assertTrue(browser.findElement(By.id("result")).isDisplayed(), "back to scanning");

            // the programs page: an owner changes the cooldown with the keyboard
            browser.get(base + "/console/programs");
            WebElement cooldown = browser.findElement(By.id("p-coffee-cooldown"));
            cooldown.clear();
            cooldown.sendKeys("120", Keys.ENTER);
            waiting().until(d -> d.getPageSource().contains("Changed on the console by olga"));
            assertTrue(browser.getPageSource().contains("<tr><th scope=\"row\">Cooldown</th><td>120 s</td><td>off</td></tr>"),
                    browser.getPageSource());
            js("window.scrollTo(0, 0);");
            shot("programs");
        }
    }
}
