package app.sevenstamp.autopilot.gateway.scan;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ScannerDetectorTest {
    @TempDir
    Path dir;
    private Path serial;
    private Path input;
    private ScannerDetector detector;

    @BeforeEach
    void dirs() {
        serial = dir.resolve("serial-by-id");
        input = dir.resolve("input-by-id");
        detector = new ScannerDetector(serial, input);
    }

    private Path touch(Path d, String name) throws IOException {
        Files.createDirectories(d);
        return Files.createFile(d.resolve(name));
    }

    @Test
    void nothingPluggedInSaysSoAndWhere() {
        assertEquals(new ScannerDetector.Detection.None("scanner.type=auto: no scanner found: nothing in " + serial
                + " and no *-event-kbd in " + input
                + " (is the scanner plugged in? set to USB serial or USB keyboard mode?)"), detector.detect());
    }

    @Test
    void theOnlySerialDeviceWinsEvenBesideAKeyboard() throws IOException {
        Path honeywell = touch(serial, "usb-Honeywell_Imaging-if00");
        touch(input, "usb-Logitech_Keyboard-event-kbd");
        ScannerDetector.Detection d = detector.detect();
        assertEquals(new ScannerDetector.Detection.Found(ScannerDetector.Kind.SERIAL, honeywell, "the only serial device in "
                + serial + " (serial wins over the keyboard devices " + input.resolve("usb-Logitech_Keyboard-event-kbd") + ")"), d);
    }

    @Test
    void theOnlyKeyboardIsChosenWhenThereIsNoSerialDevice() throws IOException {
        Path kbd = touch(input, "usb-Netum_Scanner-event-kbd");
        touch(input, "usb-Netum_Scanner-if01-event-mouse");
        ScannerDetector.Detection.Found found = (ScannerDetector.Detection.Found) detector.detect();
        assertEquals(ScannerDetector.Kind.HID, found.kind());
        assertEquals(kbd, found.device());
    }

    @Test
    void severalSerialDevicesAreListedNotGuessed() throws IOException {
        Path a = touch(serial, "usb-A-if00");
        Path b = touch(serial, "usb-B-if00");
        assertEquals(new ScannerDetector.Detection.Several("scanner.type=auto: 2 serial devices in " + serial + ": " + a
                + ", " + b + "; set scanner.type=serial and scanner.port to the scanner's", List.of(a, b)), detector.detect());
    }

    @Test
    void severalKeyboardsAreListedNotGuessed() throws IOException {
        Path a = touch(input, "usb-A-event-kbd");
        Path b = touch(input, "usb-B-event-kbd");
        ScannerDetector.Detection.Several several = (ScannerDetector.Detection.Several) detector.detect();
        assertEquals(List.of(a, b), several.candidates());
    }
}
