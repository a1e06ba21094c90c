package app.sevenstamp.autopilot.gateway.config;

import app.sevenstamp.autopilot.gateway.scan.Affixes;
import app.sevenstamp.autopilot.gateway.scan.DevicePath;
import app.sevenstamp.autopilot.gateway.scan.EventSize;
import app.sevenstamp.autopilot.gateway.scan.KeyLayout;
import app.sevenstamp.autopilot.gateway.scan.ScanCharset;
import app.sevenstamp.autopilot.gateway.scan.ScannerDetector;
import app.sevenstamp.autopilot.gateway.scan.Terminator;
import app.sevenstamp.autopilot.protocol.support.ConfigException;
import app.sevenstamp.autopilot.protocol.support.ConfigKey;
import app.sevenstamp.autopilot.protocol.support.Settings;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.stream.Stream;

/**
 * The {@code scanner.*} keys: where scans come from and how a scan is framed. Read once at start; with
 * scanner.type=auto the device is chosen here.
 *
 * @param port             the device path or glob; null for stdin and for auto that found nothing yet
 * @param interCharTimeout with terminator none, the pause that ends a scan
 * @param affixes          what to remove around each scan (prefix, AIM identifier, suffix)
 * @param debounce         the same code again within this is one scan; zero turns it off
 * @param layout           hid: the keyboard layout the scanner is set to
 * @param grab             hid: take the device exclusively (EVIOCGRAB)
 * @param eventSize        hid: bytes of struct input_event for this JVM
 * @param autoReason       with scanner.type=auto: what was chosen and why, or why nothing; null otherwise
 * @param serialByIdDir    where auto-detection looks for serial scanners
 * @param inputByIdDir     where auto-detection looks for keyboard-mode scanners
 */
public record ScannerSettings(ScannerType type, String port, int baud, Terminator terminator, int maxLength,
        ScanCharset charset, Duration interCharTimeout, Affixes affixes, Duration debounce, KeyLayout layout,
        boolean grab, EventSize eventSize, String autoReason, Path serialByIdDir, Path inputByIdDir) {

    public ScannerSettings {
        Objects.requireNonNull(type, "type");
        Objects.requireNonNull(terminator, "terminator");
        Objects.requireNonNull(charset, "charset");
        Objects.requireNonNull(interCharTimeout, "interCharTimeout");
        Objects.requireNonNull(affixes, "affixes");
        Objects.requireNonNull(debounce, "debounce");
        Objects.requireNonNull(layout, "layout");
        Objects.requireNonNull(eventSize, "eventSize");
        Objects.requireNonNull(serialByIdDir, "serialByIdDir");
        Objects.requireNonNull(inputByIdDir, "inputByIdDir");
    }

    /** {@code AUTO} remains only when auto-detection found nothing at start: the gateway keeps looking. */
    public enum ScannerType { STDIN, SERIAL, HID, AUTO }

    /** Reads the {@code scanner.*} keys; auto-detects the scanner with scanner.type=auto. */
    static ScannerSettings read(Settings s, Path serialByIdDir, Path inputByIdDir) {
        ScannerType type = s.choice(GatewayKeys.SCANNER_TYPE, ScannerType.class);
        String port = s.string(GatewayKeys.SCANNER_PORT);
        int baud = s.integer(GatewayKeys.SCANNER_BAUD);
        Terminator terminator = s.choice(GatewayKeys.SCANNER_TERMINATOR, Terminator.class);
        Duration interChar = s.duration(GatewayKeys.SCANNER_INTER_CHAR_TIMEOUT);
        int maxLength = s.integer(GatewayKeys.SCANNER_MAX_LENGTH);
        ScanCharset charset = s.choice(GatewayKeys.SCANNER_CHARSET, ScanCharset.class);
        Affixes affixes = new Affixes(affix(s, GatewayKeys.SCANNER_PREFIX), affix(s, GatewayKeys.SCANNER_SUFFIX),
                s.bool(GatewayKeys.SCANNER_STRIP_AIM));
        Duration debounce = s.duration(GatewayKeys.SCANNER_DEBOUNCE);
        KeyLayout layout = s.choice(GatewayKeys.SCANNER_LAYOUT, KeyLayout.class);
        boolean grab = s.bool(GatewayKeys.SCANNER_GRAB);
        String size = s.string(GatewayKeys.SCANNER_EVENT_SIZE);
        EventSize eventSize = EventSize.parse(size);
        if (eventSize == null) {
            throw Settings.bad("scanner.eventSize", size, "auto (from the JVM: 24 on 64-bit, 16 on 32-bit armhf), 16 or 24");
        }

        String autoReason = null;
        if (type == ScannerType.AUTO) {
            if (port != null) {
                throw Settings.bad("scanner.port", port, "nothing with scanner.type=auto (it finds the device); "
                        + "set scanner.type=serial or hid to name one");
            }
            ScannerDetector.Detection found = new ScannerDetector(serialByIdDir, inputByIdDir).detect();
            if (found instanceof ScannerDetector.Detection.Several several) {
                throw new ConfigException(several.message());
            } else if (found instanceof ScannerDetector.Detection.Found one) {
                type = one.kind() == ScannerDetector.Kind.SERIAL ? ScannerType.SERIAL : ScannerType.HID;
                port = one.device().toString();
                autoReason = "scanner.type=auto chose " + port + ": " + one.reason();
            } else {
                autoReason = ((ScannerDetector.Detection.None) found).message();
            }
        } else if (type == ScannerType.SERIAL) {
            if (port == null) {
                throw new ConfigException("scanner.port: missing; required when scanner.type is serial; "
                        + candidates(serialByIdDir, false, "serial"));
            }
            checkPort(port, serialByIdDir, false, "serial");
        } else if (type == ScannerType.HID) {
            port = port == null ? inputByIdDir.resolve("*" + ScannerDetector.KEYBOARD_SUFFIX).toString() : port;
            checkPort(port, inputByIdDir, true, "keyboard");
        } else {
            port = null; // stdin: a port left over from a serial setup does no harm
        }
        if (type == ScannerType.HID && terminator == Terminator.NONE) {
            throw Settings.bad("scanner.terminator", "none", "cr, lf, crlf or tab with scanner.type=hid "
                    + "(a keyboard-mode scanner ends each scan with Enter or Tab, and both end a scan)");
        }
        return new ScannerSettings(type, port, baud, terminator, maxLength, charset, interChar, affixes, debounce,
                layout, grab, eventSize, autoReason, serialByIdDir, inputByIdDir);
    }

    /** A plain path must exist now (a typo is caught at start); a glob may match nothing until it is plugged in. */
    private static void checkPort(String port, Path byIdDir, boolean keyboards, String mode) {
        DevicePath path;
        try {
            path = DevicePath.of(port);
        } catch (IllegalArgumentException e) {
            throw Settings.bad("scanner.port", port, "a device path, or a glob in its last part like "
                    + byIdDir.resolve(keyboards ? "*-event-kbd" : "*Honeywell*") + " (" + e.getMessage() + ")");
        }
        if (!path.isGlob() && !Files.exists(Path.of(port))) {
            throw new ConfigException("scanner.port: '" + port + "' does not exist; " + candidates(byIdDir, keyboards, mode));
        }
    }

    private static String candidates(Path byIdDir, boolean keyboards, String mode) {
        List<String> found = new ArrayList<>();
        try (Stream<Path> entries = Files.list(byIdDir)) {
            entries.filter(p -> !keyboards || p.getFileName().toString().endsWith(ScannerDetector.KEYBOARD_SUFFIX))
                    .map(Path::toString).sorted().forEach(found::add);
        } catch (IOException | SecurityException e) {
            // no such directory: no device of that kind is plugged in
        }
        return found.isEmpty()
                ? "no devices in " + byIdDir + " (is the scanner plugged in and set to " + mode + " mode?)"
                : "found " + String.join(", ", found);
    }

    private static String affix(Settings s, ConfigKey k) {
        String key = k.name();
        String raw = s.string(k);
        String value = Affixes.unescape(raw);
        if (value == null) {
            throw Settings.bad(key, raw, "text, with the escapes \\t \\r \\n \\\\ and \\xHH (STX is \\x02)");
        }
        return value;
    }
}
