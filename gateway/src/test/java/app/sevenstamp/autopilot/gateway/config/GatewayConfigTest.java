package app.sevenstamp.autopilot.gateway.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import app.sevenstamp.autopilot.gateway.config.FeedbackSettings.BuzzerType;
import app.sevenstamp.autopilot.gateway.config.FeedbackSettings.FeedbackPin;
import app.sevenstamp.autopilot.gateway.config.FeedbackSettings.FeedbackType;
import app.sevenstamp.autopilot.gateway.config.FeedbackSettings.LedType;
import app.sevenstamp.autopilot.gateway.config.ScannerSettings.ScannerType;
import app.sevenstamp.autopilot.gateway.scan.EventSize;
import app.sevenstamp.autopilot.gateway.testing.GatewayProps;
import app.sevenstamp.autopilot.gateway.scan.KeyLayout;
import app.sevenstamp.autopilot.gateway.scan.ScanCharset;
import app.sevenstamp.autopilot.gateway.scan.Terminator;
import app.sevenstamp.autopilot.protocol.support.ConfigException;
import app.sevenstamp.autopilot.protocol.testing.Vectors;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class GatewayConfigTest {

    @TempDir
    Path dir;

    private GatewayConfig load(String... keyValues) {
        return GatewayProps.minimal().set(keyValues).config("counter-1.local", dir);
    }

    private String error(String... keyValues) {
        return assertThrows(ConfigException.class, () -> load(keyValues)).getMessage();
    }

    @Test
    void defaultsNeedOnlyTheTrustedKeys() {
        GatewayConfig c = load();
        assertEquals("counter-1.local", c.deviceId());
        assertEquals("default", c.location());
        assertEquals(ScannerType.STDIN, c.scanner().type());
        assertNull(c.scanner().port());
        assertEquals(9600, c.scanner().baud());
        assertEquals(Terminator.CR, c.scanner().terminator());
        assertEquals(256, c.scanner().maxLength());
        assertEquals(ScanCharset.UTF_8, c.scanner().charset());
        assertEquals(Duration.ofMillis(1500), c.scanner().debounce());
        assertEquals(Duration.ofMillis(100), c.scanner().interCharTimeout());
        assertEquals("prefix=none suffix=none aim=stripped", c.scanner().affixes().toString());
        assertEquals(KeyLayout.US, c.scanner().layout());
        assertTrue(c.scanner().grab());
        assertEquals(EventSize.forThisJvm(), c.scanner().eventSize());
        assertNull(c.scanner().autoReason());
        assertEquals(Set.of(), c.cards().programs());
        assertFalse(c.cards().verifier().isEmpty());
        assertEquals(Path.of("./data/gateway"), c.outboxDir());
        assertEquals("tcp://127.0.0.1:1883", c.mqtt().url());
        assertEquals("7stamp/v1", c.mqtt().topicPrefix());
        assertEquals("counter-1.local", c.mqtt().clientId());
        assertNull(c.mqtt().username());
        assertEquals(Duration.ofSeconds(30), c.mqtt().keepAlive());
        assertEquals(100, c.mqtt().inflight());
        assertEquals(Duration.ofSeconds(1), c.mqtt().reconnectMin());
        assertEquals(Duration.ofSeconds(60), c.mqtt().reconnectMax());
        assertEquals(FeedbackType.AUTO, c.feedback().type());
        assertEquals(LedType.PAIR, c.feedback().led());
        assertEquals(17, c.feedback().greenPin());
        assertEquals(27, c.feedback().redPin());
        assertEquals(23, c.feedback().bluePin());
        assertEquals(BuzzerType.ACTIVE, c.feedback().buzzer());
        assertEquals(22, c.feedback().buzzerPin());
        assertEquals(FeedbackSettings.AUTO, c.feedback().pwmChip());
        assertEquals(FeedbackSettings.AUTO, c.feedback().pwmChannel());
        assertEquals(Set.of(), c.feedback().activeLow());
        assertEquals("green=17 red=27 buzzer=22 (active)", c.feedback().describe());
    }

    @Test
    void everyKeyCanBeSet() throws IOException {
        Path port = Files.createFile(dir.resolve("ttyACM0"));
        GatewayConfig c = load("device.id", "box-7", "device.location", "shop-12", "scanner.type", "serial",
                "scanner.port", port.toString(), "scanner.baud", "115200", "scanner.terminator", "crlf",
                "scanner.maxLength", "512", "scanner.charset", "iso-8859-1", "cards.programs", "coffee, bakery-7",
                "outbox.dir", dir.resolve("outbox").toString(), "mqtt.url", "ssl://broker.example:8883",
                "mqtt.topicPrefix", "acme/7stamp/v1", "mqtt.clientId", "box-7-gw", "mqtt.username", "box-7",
                "mqtt.password", "s3cret", "mqtt.keepAlive", "1m", "mqtt.inflight", "50", "mqtt.reconnect.min", "500ms",
                "mqtt.reconnect.max", "5m", "feedback.type", "gpio", "feedback.gpio.green", "5",
                "feedback.gpio.red", "6", "feedback.gpio.buzzer", "13", "feedback.gpio.activeLow", "true");
        assertEquals("box-7", c.deviceId());
        assertEquals("shop-12", c.location());
        assertEquals(port.toString(), c.scanner().port());
        assertEquals(115_200, c.scanner().baud());
        assertEquals(Terminator.CRLF, c.scanner().terminator());
        assertEquals(ScanCharset.ISO_8859_1, c.scanner().charset());
        assertEquals(Set.of("coffee", "bakery-7"), c.cards().programs());
        assertEquals("box-7-gw", c.mqtt().clientId());
        assertEquals("s3cret", c.mqtt().password());
        assertEquals(Duration.ofMillis(500), c.mqtt().reconnectMin());
        assertEquals(FeedbackType.GPIO, c.feedback().type());
        assertEquals(Set.of(FeedbackPin.values()), c.feedback().activeLow());
    }

    @Test
    void feedbackHardwareCanBeAnRgbLedAndAPassiveBuzzer() {
        FeedbackSettings f = load("feedback.type", "gpio", "feedback.led", "rgb", "feedback.gpio.green", "5",
                "feedback.gpio.red", "6", "feedback.gpio.blue", "26", "feedback.buzzer", "passive",
                "feedback.pwm.chip", "2", "feedback.pwm.channel", "3", "feedback.gpio.activeLow", "red, Blue").feedback();
        assertEquals(new FeedbackSettings(FeedbackType.GPIO, LedType.RGB, 5, 6, 26, BuzzerType.PASSIVE, 22, 2, 3,
                Set.of(FeedbackPin.RED, FeedbackPin.BLUE), FeedbackSettings.AUTO_CHIP), f);
        assertTrue(f.activeLow(FeedbackPin.RED));
        assertFalse(f.activeLow(FeedbackPin.GREEN));
        assertEquals("rgb green=5 red=6 blue=26 buzzer=pwm chip 2 channel 3 (passive) active-low=red,blue", f.describe());
        assertEquals("auto", f.gpioChip());
        assertEquals("pinctrl-rp1", load("feedback.gpio.chip", "pinctrl-rp1").feedback().gpioChip());
        assertEquals("gpio-brcmstb@107d508500", load("feedback.gpio.chip", "gpio-brcmstb@107d508500").feedback().gpioChip());
        assertEquals(BuzzerType.NONE, load("feedback.buzzer", "none").feedback().buzzer());
        assertEquals(Set.of(), load("feedback.gpio.activeLow", "false").feedback().activeLow());
    }

    @Test
    void theBluePinAndTheBuzzerPinCountOnlyWhenUsed() {
        // a pair ignores feedback.gpio.blue; a passive buzzer ignores feedback.gpio.buzzer
        assertEquals(17, load("feedback.gpio.blue", "17").feedback().bluePin());
        assertEquals(27, load("feedback.buzzer", "passive", "feedback.gpio.buzzer", "27").feedback().buzzerPin());
    }

    @Test
    void refusesBadFeedbackHardware() {
        assertEquals("feedback.led: 'rgbw' is not allowed; allowed: one of pair, rgb", error("feedback.led", "rgbw"));
        assertEquals("feedback.buzzer: 'piezo' is not allowed; allowed: one of active, passive, none",
                error("feedback.buzzer", "piezo"));
        assertEquals("feedback.gpio.blue: '27' is not allowed; allowed: a BCM pin 0..27 not used by feedback.gpio.green "
                + "or feedback.gpio.red", error("feedback.led", "rgb", "feedback.gpio.blue", "27"));
        assertEquals("feedback.gpio.buzzer: '23' is not allowed; allowed: a BCM pin 0..27 not used by feedback.gpio.green, "
                + "feedback.gpio.red or feedback.gpio.blue", error("feedback.led", "rgb", "feedback.gpio.buzzer", "23"));
        assertEquals("feedback.pwm.chip: 'pwmchip2' is not allowed; allowed: auto or a whole number in 0..15",
                error("feedback.pwm.chip", "pwmchip2"));
        assertEquals("feedback.pwm.channel: '4' is not allowed; allowed: auto or a whole number in 0..3",
                error("feedback.pwm.channel", "4"));
        assertEquals("feedback.gpio.chip: '/dev/gpiochip0' is not allowed; allowed: auto, or the label or name of a "
                + "GPIO chip as gpiodetect prints it (pinctrl-rp1, gpiochip0)", error("feedback.gpio.chip", "/dev/gpiochip0"));
        assertEquals("feedback.gpio.activeLow: 'red,yellow' is not allowed; allowed: true, false, or a comma list of "
                + "green, red, blue, buzzer", error("feedback.gpio.activeLow", "red,yellow"));
        assertEquals("feedback.gpio.activeLow: 'buzzer' is not allowed; allowed: outputs other than buzzer while "
                + "feedback.buzzer is passive (a PWM tone has no active level)",
                error("feedback.buzzer", "passive", "feedback.gpio.activeLow", "buzzer"));
    }

    @Test
    void passwordIsNeverPrinted() {
        GatewayConfig c = load("mqtt.username", "box", "mqtt.password", "s3cret");
        assertFalse(c.toString().contains("s3cret"), c.toString());
    }

    @Test
    void defaultDeviceIdIsTheHostNameMadeValid() {
        assertEquals("my-pi-counter-1", GatewayConfig.defaultDeviceId("my pi/counter+1"));
        assertEquals("pi", GatewayConfig.defaultDeviceId("--pi"));
        assertEquals("gateway", GatewayConfig.defaultDeviceId("???"));
        assertEquals(64, GatewayConfig.defaultDeviceId("a".repeat(100)).length());
    }

    @Test
    void refusesAMissingTrustedKey() {
        assertEquals("cards.trustedKeys: missing; comma-separated keyId:publicKey as printed by 'autopilot-sink keys show'",
                error("cards.trustedKeys", null));
    }

    @Test
    void refusesAMalformedTrustedKey() {
        assertEquals("cards.trustedKeys: 'k1:AAAA' is not allowed; allowed: keyId:publicKey as printed by "
                + "'autopilot-sink keys show' (public key must be 32 bytes, was 3)", error("cards.trustedKeys", "k1:AAAA"));
        assertEquals("cards.trustedKeys: 'k1' is not allowed; allowed: keyId:publicKey as printed by "
                + "'autopilot-sink keys show' ('k1' is not of the form keyId:publicKey)", error("cards.trustedKeys", "k1"));
    }

    @Test
    void refusesATrustedKeyListedTwice() {
        assertEquals("cards.trustedKeys: key id 'k1' is listed twice",
                error("cards.trustedKeys", Vectors.trustedKey() + "," + Vectors.trustedKey()));
    }

    @Test
    void refusesABadProgram() {
        assertEquals("cards.programs: 'Coffee' is not allowed; allowed: comma-separated program ids like coffee or "
                + "bakery-7 ([a-z0-9][a-z0-9-]{0,23})", error("cards.programs", "tea,Coffee"));
    }

    @Test
    void refusesAnUnknownScannerType() {
        assertEquals("scanner.type: 'usb' is not allowed; allowed: one of stdin, serial, hid, auto", error("scanner.type", "usb"));
    }

    @Test
    void serialNeedsAPort() {
        assertEquals("scanner.port: missing; required when scanner.type is serial; no devices in " + dir.resolve("by-id")
                + " (is the scanner plugged in and set to serial mode?)", error("scanner.type", "serial"));
    }

    @Test
    void serialPortMustExistAndTheMessageListsCandidates() throws IOException {
        Path byId = Files.createDirectories(dir.resolve("by-id"));
        Files.createFile(byId.resolve("usb-Honeywell_Scanner-if00"));
        Files.createFile(byId.resolve("usb-Zebra_DS2208-if00"));
        assertEquals("scanner.port: '/dev/ttyACM9' does not exist; found " + byId.resolve("usb-Honeywell_Scanner-if00")
                        + ", " + byId.resolve("usb-Zebra_DS2208-if00"),
                error("scanner.type", "serial", "scanner.port", "/dev/ttyACM9"));
    }

    @Test
    void refusesOutOfRangeNumbers() {
        assertEquals("scanner.baud: '300' is not allowed; allowed: a whole number in 1200..921600", error("scanner.baud", "300"));
        assertEquals("scanner.maxLength: 'lots' is not allowed; allowed: a whole number in 16..4096",
                error("scanner.maxLength", "lots"));
        assertEquals("mqtt.inflight: '0' is not allowed; allowed: a whole number in 1..1000", error("mqtt.inflight", "0"));
        assertEquals("feedback.gpio.green: '28' is not allowed; allowed: a whole number in 0..27",
                error("feedback.gpio.green", "28"));
    }

    @Test
    void refusesBadChoices() {
        assertEquals("scanner.terminator: 'nl' is not allowed; allowed: one of cr, lf, crlf, tab, none",
                error("scanner.terminator", "nl"));
        assertEquals("scanner.charset: 'ascii' is not allowed; allowed: one of utf-8, iso-8859-1",
                error("scanner.charset", "ascii"));
        assertEquals("feedback.type: 'led' is not allowed; allowed: one of auto, console, gpio", error("feedback.type", "led"));
        assertEquals("feedback.gpio.activeLow: 'maybe' is not allowed; allowed: true, false, or a comma list of green, "
                + "red, blue, buzzer", error("feedback.gpio.activeLow", "maybe"));
    }

    @Test
    void refusesBadDurations() {
        assertEquals("mqtt.keepAlive: '1s' is not allowed; allowed: a duration like 500ms, 30s, 5m, 1h or 7d, from 5s to 10m",
                error("mqtt.keepAlive", "1s"));
        assertEquals("mqtt.reconnect.max: '2s' is not allowed; allowed: at least mqtt.reconnect.min (5s)",
                error("mqtt.reconnect.min", "5s", "mqtt.reconnect.max", "2s"));
        // Paho counts the connection timeout in whole seconds
        assertEquals("mqtt.connectTimeout: '1500ms' is not allowed; allowed: whole seconds from 1s to 2m",
                error("mqtt.connectTimeout", "1500ms"));
        assertTrue(error("mqtt.connectTimeout", "500ms").startsWith("mqtt.connectTimeout: '500ms' is not allowed"),
                error("mqtt.connectTimeout", "500ms"));
    }

    @Test
    void theConnectTimeoutIsReadAndDefaultsToTenSeconds() {
        assertEquals(Duration.ofSeconds(10), load().mqtt().connectTimeout());
        assertEquals(Duration.ofSeconds(45), load("mqtt.connectTimeout", "45s").mqtt().connectTimeout());
    }

    @Test
    void refusesSharedGpioPins() {
        assertEquals("feedback.gpio.red: '17' is not allowed; allowed: a BCM pin 0..27 not used by feedback.gpio.green",
                error("feedback.gpio.red", "17"));
        assertEquals("feedback.gpio.buzzer: '27' is not allowed; allowed: a BCM pin 0..27 not used by "
                + "feedback.gpio.green or feedback.gpio.red", error("feedback.gpio.buzzer", "27"));
    }

    @Test
    void refusesBadIdentifiersAndUrls() {
        assertEquals("device.id: 'my box' is not allowed; allowed: 1 to 64 letters, digits, '_', '.' or '-', "
                + "starting with a letter or digit", error("device.id", "my box"));
        assertEquals("mqtt.url: 'http://broker:1883' is not allowed; allowed: tcp://HOST:PORT or ssl://HOST:PORT",
                error("mqtt.url", "http://broker:1883"));
        assertEquals("mqtt.url: 'tcp://broker:99999' is not allowed; allowed: tcp://HOST:PORT or ssl://HOST:PORT",
                error("mqtt.url", "tcp://broker:99999"));
        assertEquals("mqtt.topicPrefix: '/7stamp/v1' is not allowed; allowed: a non-empty prefix without leading or "
                + "trailing '/' and without '+' or '#'", error("mqtt.topicPrefix", "/7stamp/v1"));
    }

    @Test
    void refusesAPasswordWithoutUser() {
        assertEquals("mqtt.password: set without mqtt.username; MQTT sends a password only together with a user name",
                error("mqtt.password", "s3cret"));
    }

    @Test
    void refusesAnOutboxDirThatIsAFile() throws IOException {
        Path file = Files.createFile(dir.resolve("not-a-dir"));
        assertEquals("outbox.dir: '" + file + "' is not allowed; allowed: a directory (this is a file)",
                error("outbox.dir", file.toString()));
    }

    @Test
    void refusesAnUnknownKey() {
        String message = error("scaner.port", "/dev/ttyACM0");
        assertTrue(message.startsWith("gateway.properties: unknown key scaner.port; known keys are cards.programs, "),
                message);
        assertTrue(message.contains("scanner.port"), message);
    }

    @Test
    void loadsAFileAndReportsAMissingOne() throws IOException {
        Path file = dir.resolve("gateway.properties");
        Files.writeString(file, "cards.trustedKeys = " + Vectors.trustedKey() + "\ndevice.id = counter-9\n");
        assertEquals("counter-9", GatewayConfig.load(file, "host").deviceId());
        Path missing = dir.resolve("nope.properties");
        assertEquals("config file " + missing + " does not exist",
                assertThrows(ConfigException.class, () -> GatewayConfig.load(missing, "host")).getMessage());
    }

    @Test
    void scannerKeysOfThisIssue() throws IOException {
        Path kbd = Files.createDirectories(dir.resolve("input-by-id")).resolve("usb-Netum-event-kbd");
        Files.createFile(kbd);
        GatewayConfig c = load("scanner.type", "hid", "scanner.layout", "de", "scanner.grab", "false",
                "scanner.eventSize", "16", "scanner.prefix", "\\x02", "scanner.suffix", "\\x03", "scanner.stripAim", "false",
                "scanner.debounce", "0ms");
        assertEquals(ScannerType.HID, c.scanner().type());
        assertEquals(dir.resolve("input-by-id").resolve("*-event-kbd").toString(), c.scanner().port(),
                "hid defaults to the keyboards of /dev/input/by-id");
        assertEquals(KeyLayout.DE, c.scanner().layout());
        assertFalse(c.scanner().grab());
        assertEquals(EventSize.BYTES_16, c.scanner().eventSize());
        assertEquals("prefix='\\u0002' suffix='\\u0003' aim=kept", c.scanner().affixes().toString());
        assertEquals(Duration.ZERO, c.scanner().debounce());
        assertEquals("hid " + kbd.getParent().resolve("*-event-kbd") + " layout de", c.describeScanner());
    }

    @Test
    void aGlobPortMayMatchNothingYetButAPlainPathMustExist() {
        GatewayConfig c = load("scanner.type", "serial", "scanner.port", "/dev/serial/by-id/*Honeywell*");
        assertEquals("/dev/serial/by-id/*Honeywell*", c.scanner().port());
        assertEquals("scanner.port: '/dev/*/x' is not allowed; allowed: a device path, or a glob in its last part like "
                + dir.resolve("by-id").resolve("*Honeywell*") + " (a glob (*, ?, [...], {...}) is allowed only in the last "
                + "part of the path)", error("scanner.type", "serial", "scanner.port", "/dev/*/x"));
        assertEquals("scanner.port: '" + dir.resolve("kbd9") + "' does not exist; no devices in " + dir.resolve("input-by-id")
                + " (is the scanner plugged in and set to keyboard mode?)",
                error("scanner.type", "hid", "scanner.port", dir.resolve("kbd9").toString()));
    }

    @Test
    void autoChoosesTheOnlySerialDeviceAndSaysWhy() throws IOException {
        Path serial = Files.createDirectories(dir.resolve("by-id")).resolve("usb-Honeywell-if00");
        Files.createFile(serial);
        GatewayConfig c = load("scanner.type", "auto");
        assertEquals(ScannerType.SERIAL, c.scanner().type());
        assertEquals(serial.toString(), c.scanner().port());
        assertEquals("scanner.type=auto chose " + serial + ": the only serial device in " + dir.resolve("by-id"),
                c.scanner().autoReason());
    }

    @Test
    void autoWithNothingPluggedInStartsAndKeepsLooking() {
        GatewayConfig c = load("scanner.type", "auto");
        assertEquals(ScannerType.AUTO, c.scanner().type());
        assertNull(c.scanner().port());
        assertTrue(c.scanner().autoReason().startsWith("scanner.type=auto: no scanner found"), c.scanner().autoReason());
    }

    @Test
    void autoWithSeveralDevicesRefusesToStartAndListsThem() throws IOException {
        Path byId = Files.createDirectories(dir.resolve("by-id"));
        Files.createFile(byId.resolve("usb-A-if00"));
        Files.createFile(byId.resolve("usb-B-if00"));
        assertEquals("scanner.type=auto: 2 serial devices in " + byId + ": " + byId.resolve("usb-A-if00") + ", "
                + byId.resolve("usb-B-if00") + "; set scanner.type=serial and scanner.port to the scanner's",
                error("scanner.type", "auto"));
    }

    @Test
    void refusesBadScannerValuesOfThisIssue() throws IOException {
        Files.createDirectories(dir.resolve("input-by-id"));
        assertEquals("scanner.eventSize: '32' is not allowed; allowed: auto (from the JVM: 24 on 64-bit, 16 on 32-bit armhf), 16 or 24",
                error("scanner.eventSize", "32"));
        assertEquals("scanner.layout: 'uk' is not allowed; allowed: one of us, de, fr", error("scanner.layout", "uk"));
        assertEquals("scanner.prefix: '\\x0' is not allowed; allowed: text, with the escapes \\t \\r \\n \\\\ and \\xHH (STX is \\x02)",
                error("scanner.prefix", "\\x0"));
        assertEquals("scanner.debounce: '20s' is not allowed; allowed: a duration like 500ms, 30s, 5m, 1h or 7d, from 0s to 10s",
                error("scanner.debounce", "20s"));
        assertEquals("scanner.terminator: 'none' is not allowed; allowed: cr, lf, crlf or tab with scanner.type=hid "
                + "(a keyboard-mode scanner ends each scan with Enter or Tab, and both end a scan)",
                error("scanner.type", "hid", "scanner.port", "/dev/*-kbd".replace("/dev", dir.toString()), "scanner.terminator", "none"));
        assertEquals("scanner.port: '/dev/ttyACM0' is not allowed; allowed: nothing with scanner.type=auto (it finds the "
                + "device); set scanner.type=serial or hid to name one", error("scanner.type", "auto", "scanner.port", "/dev/ttyACM0"));
    }

    @Test
    void voucherAnswerTimeoutDefaultsToThreeSecondsAndIsBounded() {
        assertEquals(Duration.ofSeconds(3), load().vouchers().answerTimeout());
        assertEquals(Duration.ofMillis(1500), load("vouchers.answerTimeout", "1500ms").vouchers().answerTimeout());
        assertEquals("vouchers.answerTimeout: '100ms' is not allowed; allowed: a duration like 500ms, 30s, 5m, 1h or 7d, "
                + "from 500ms to 30s", error("vouchers.answerTimeout", "100ms"));
        assertEquals("vouchers.answerTimeout: '1m' is not allowed; allowed: a duration like 500ms, 30s, 5m, 1h or 7d, "
                + "from 500ms to 30s", error("vouchers.answerTimeout", "1m"));
    }
}
