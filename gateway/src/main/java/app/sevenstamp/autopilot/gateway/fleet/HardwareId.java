package app.sevenstamp.autopilot.gateway.fleet;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.Optional;

/**
 * The box's hardware identity: the Raspberry Pi's serial number ({@code Serial} in /proc/cpuinfo, or
 * /proc/device-tree/serial-number), else /etc/machine-id (which a re-imaged SD card changes). The
 * paths are parameters so that tests can give their own files.
 */
public final class HardwareId {
    private HardwareId() {
    }

    public static String read() {
        return read(Path.of("/proc/cpuinfo"), Path.of("/proc/device-tree/serial-number"), Path.of("/etc/machine-id"));
    }

    public static String read(Path cpuinfo, Path serialNumber, Path machineId) {
        Optional<String> serial = lines(cpuinfo).flatMap(text -> text.lines()
                .filter(l -> l.toLowerCase(Locale.ROOT).startsWith("serial"))
                .map(l -> l.substring(l.indexOf(':') + 1).trim()).filter(v -> !v.isEmpty() && !v.matches("0+"))
                .findFirst());
        if (serial.isEmpty()) {
            serial = lines(serialNumber).map(v -> v.replace("\0", "").trim()).filter(v -> !v.isEmpty());
        }
        if (serial.isPresent()) {
            return "pi-" + serial.get().toLowerCase(Locale.ROOT);
        }
        return lines(machineId).map(String::trim).filter(v -> !v.isEmpty()).map(v -> "machine-" + v)
                .orElseThrow(() -> new IllegalStateException("no hardware identity: no Serial in " + cpuinfo + ", no "
                        + serialNumber + ", no " + machineId + "; set provision.hardwareId"));
    }

    private static Optional<String> lines(Path file) {
        try {
            return Optional.of(Files.readString(file, StandardCharsets.ISO_8859_1));
        } catch (IOException | SecurityException e) {
            return Optional.empty();
        }
    }
}
