package app.sevenstamp.autopilot.gateway.check;

import app.sevenstamp.autopilot.gateway.config.ScannerSettings;
import app.sevenstamp.autopilot.gateway.scan.DevicePath;
import com.fazecast.jSerialComm.SerialPort;
import com.fazecast.jSerialComm.SerialPortInvalidPortException;
import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;
import java.util.Optional;

/**
 * Which scanner the configuration names or auto-detection found, and whether its device opens the way the
 * gateway opens it: serial at the configured baud rate (jSerialComm), a keyboard-mode scanner read-only.
 * A scanner sends nothing until a code is scanned, so "answers" means "opens"; the installer scans a card
 * once the service runs.
 */
final class ScannerCheck implements Check {
    /** Opens a device as the gateway would; empty when it opened, else why not. */
    interface Opener {
        Optional<String> open(Path device, boolean serial, int baud);
    }

    private final ScannerSettings scanner;
    private final Opener opener;

    ScannerCheck(ScannerSettings scanner, Opener opener) {
        this.scanner = scanner;
        this.opener = opener;
    }

    @Override
    public List<CheckLine> run() {
        return List.of(switch (scanner.type()) {
            case STDIN -> CheckLine.fail("scanner", "scanner.type=stdin reads scans typed into a terminal; a counter needs "
                    + "scanner.type=auto (or serial, hid)");
            case AUTO -> CheckLine.fail("scanner", scanner.autoReason());
            case SERIAL, HID -> device();
        });
    }

    private CheckLine device() {
        boolean serial = scanner.type() == app.sevenstamp.autopilot.gateway.config.ScannerSettings.ScannerType.SERIAL;
        String kind = serial ? "serial" : "keyboard-mode (hid)";
        Optional<Path> device = DevicePath.of(scanner.port()).resolve();
        if (device.isEmpty() || !Files.exists(device.get())) {
            return CheckLine.fail("scanner", kind + " scanner " + scanner.port() + " is not plugged in (nothing at that "
                    + "path): plug it in, or run with scanner.type=auto to see what is there");
        }
        String via = device.get().toString().equals(scanner.port()) ? "" : " (" + scanner.port() + ")";
        Optional<String> error = opener.open(device.get(), serial, scanner.baud());
        if (error.isPresent()) {
            return CheckLine.fail("scanner", kind + " scanner " + device.get() + via + " does not open: " + error.get());
        }
        String source = scanner.autoReason() != null ? "; " + scanner.autoReason() : "";
        return CheckLine.ok("scanner", kind + " scanner " + device.get() + via + " opens"
                + (serial ? " at " + scanner.baud() + " baud" : "") + source);
    }

    /** The gateway's own way: jSerialComm for serial, a read-only open for an input device. */
    static Optional<String> openForReal(Path device, boolean serial, int baud) {
        if (!serial) {
            try (FileChannel c = FileChannel.open(device, StandardOpenOption.READ)) {
                return Optional.empty();
            } catch (IOException | SecurityException e) {
                return Optional.of(e + " (the service user needs group 'input')");
            }
        }
        SerialPort port;
        try {
            port = SerialPort.getCommPort(device.toString());
        } catch (SerialPortInvalidPortException e) {
            return Optional.of(e.getMessage());
        }
        port.setComPortParameters(baud, 8, SerialPort.ONE_STOP_BIT, SerialPort.NO_PARITY);
        if (!port.openPort()) {
            return Optional.of("error " + port.getLastErrorCode() + " (the service user needs group 'dialout'; "
                    + "is another program using it?)");
        }
        port.closePort();
        return Optional.empty();
    }
}
