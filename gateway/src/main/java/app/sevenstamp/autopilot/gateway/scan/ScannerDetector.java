package app.sevenstamp.autopilot.gateway.scan;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Objects;
import java.util.stream.Collectors;
import java.util.stream.Stream;

/**
 * {@code scanner.type=auto}: finds the scanner among the stable device names udev makes. The only
 * entry of {@code /dev/serial/by-id} wins (a scanner set to USB serial); with no serial device, the only
 * keyboard of {@code /dev/input/by-id} ({@code *-event-kbd}: a scanner in its factory keyboard mode).
 * Anything else is a question only a person can answer, and the result says so with the candidates.
 *
 * <p>by-id lists USB devices only, so a laptop's built-in keyboard is never a candidate; a USB keyboard
 * plugged in beside a keyboard-mode scanner makes the choice ambiguous, which is reported, not guessed.
 * The directories are passed in so tests use a temporary folder. Stateless.
 */
public final class ScannerDetector {
    public static final Path SERIAL_BY_ID = Path.of("/dev/serial/by-id");
    public static final Path INPUT_BY_ID = Path.of("/dev/input/by-id");
    public static final String KEYBOARD_SUFFIX = "-event-kbd";

    private final Path serialByIdDir;
    private final Path inputByIdDir;

    public ScannerDetector(Path serialByIdDir, Path inputByIdDir) {
        this.serialByIdDir = Objects.requireNonNull(serialByIdDir, "serialByIdDir");
        this.inputByIdDir = Objects.requireNonNull(inputByIdDir, "inputByIdDir");
    }

    public enum Kind { SERIAL, HID }

    /** The outcome of one look. */
    public sealed interface Detection {
        /** Exactly one candidate. @param reason why it was chosen, for the log */
        record Found(Kind kind, Path device, String reason) implements Detection {
        }

        /** Nothing plugged in, or nothing in a usable mode. */
        record None(String message) implements Detection {
        }

        /** More than one candidate: the operator must pick one with scanner.type and scanner.port. */
        record Several(String message, List<Path> candidates) implements Detection {
        }
    }

    public Detection detect() {
        List<Path> serial = list(serialByIdDir, false);
        List<Path> keyboards = list(inputByIdDir, true);
        if (serial.size() == 1) {
            return new Detection.Found(Kind.SERIAL, serial.get(0), "the only serial device in " + serialByIdDir
                    + (keyboards.isEmpty() ? "" : " (serial wins over the keyboard devices " + names(keyboards) + ")"));
        }
        if (serial.size() > 1) {
            return new Detection.Several("scanner.type=auto: " + serial.size() + " serial devices in " + serialByIdDir
                    + ": " + names(serial) + "; set scanner.type=serial and scanner.port to the scanner's", serial);
        }
        if (keyboards.size() == 1) {
            return new Detection.Found(Kind.HID, keyboards.get(0), "no serial device in " + serialByIdDir
                    + ", and the only keyboard-like device in " + inputByIdDir
                    + " (if that is a real keyboard, set scanner.type and scanner.port)");
        }
        if (keyboards.size() > 1) {
            return new Detection.Several("scanner.type=auto: no serial device in " + serialByIdDir + " and "
                    + keyboards.size() + " keyboard-like devices in " + inputByIdDir + ": " + names(keyboards)
                    + "; set scanner.type=hid and scanner.port to the scanner's", keyboards);
        }
        return new Detection.None("scanner.type=auto: no scanner found: nothing in " + serialByIdDir
                + " and no *" + KEYBOARD_SUFFIX + " in " + inputByIdDir
                + " (is the scanner plugged in? set to USB serial or USB keyboard mode?)");
    }

    public String describe() {
        return "auto (" + serialByIdDir + ", " + inputByIdDir + "/*" + KEYBOARD_SUFFIX + ")";
    }

    private static List<Path> list(Path dir, boolean keyboardsOnly) {
        try (Stream<Path> entries = Files.list(dir)) {
            return entries.filter(p -> !keyboardsOnly || p.getFileName().toString().endsWith(KEYBOARD_SUFFIX))
                    .sorted().toList();
        } catch (IOException | SecurityException e) {
            return List.of(); // udev creates the directory with the first device of its kind
        }
    }

    private static String names(List<Path> paths) {
        return paths.stream().map(Path::toString).collect(Collectors.joining(", "));
    }
}
