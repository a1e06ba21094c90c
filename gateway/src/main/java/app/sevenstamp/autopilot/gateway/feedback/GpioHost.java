package app.sevenstamp.autopilot.gateway.feedback;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFileAttributes;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.function.Predicate;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * What this machine offers for GPIO feedback, read from the files Linux shows: the board model
 * ({@code /proc/device-tree/model}), the GPIO character devices ({@code /dev/gpiochip*}) and the PWM chips
 * ({@code /sys/class/pwm}). Every path is passed in, so tests describe a Pi 4, a Pi 5 or a laptop with a
 * temporary folder.
 *
 * @param accessible whether this process may open a device read-write ({@link Files#isReadable} and
 *                   {@link Files#isWritable} in production; tests pass their own, since root may open anything)
 */
public record GpioHost(Path modelFile, Path devDir, Path pwmDir, Predicate<Path> accessible) {
    private static final Pattern GPIOCHIP = Pattern.compile("gpiochip\\d+");
    private static final Pattern PWMCHIP = Pattern.compile("pwmchip(\\d+)");
    /** The group Raspberry Pi OS gives /dev/gpiochip* and /sys/class/pwm; used when the device's own cannot be read. */
    static final String GPIO_GROUP = "gpio";

    public GpioHost {
        Objects.requireNonNull(modelFile, "modelFile");
        Objects.requireNonNull(devDir, "devDir");
        Objects.requireNonNull(pwmDir, "pwmDir");
        Objects.requireNonNull(accessible, "accessible");
    }

    public static GpioHost system() {
        return new GpioHost(Path.of("/proc/device-tree/model"), Path.of("/dev"), Path.of("/sys/class/pwm"),
                p -> Files.isReadable(p) && Files.isWritable(p));
    }

    /** The board model as the device tree names it, e.g. {@code Raspberry Pi 5 Model B Rev 1.0}; "unknown" elsewhere. */
    public String model() {
        try {
            String model = new String(Files.readAllBytes(modelFile), StandardCharsets.UTF_8).replace("\0", "").trim();
            return model.isEmpty() ? "unknown" : model;
        } catch (IOException | SecurityException e) {
            return "unknown";
        }
    }

    public boolean raspberryPi() {
        return model().startsWith("Raspberry Pi");
    }

    /** Pi 5, Pi 500 and Compute Module 5 route GPIO and PWM through the RP1 chip. */
    public boolean rp1() {
        String m = model();
        return m.startsWith("Raspberry Pi 5") || m.startsWith("Raspberry Pi 500") || m.startsWith("Raspberry Pi Compute Module 5");
    }

    /** Why GPIO cannot be used here, naming what to do; empty when it can. */
    public Optional<String> problem() {
        List<Path> chips = list(devDir, GPIOCHIP);
        if (chips.isEmpty()) {
            return Optional.of("no " + devDir.resolve("gpiochip*") + " on this machine (board: " + model() + ")"
                    + (raspberryPi() ? "; is the gpiod kernel driver loaded?" : "; this is not a Raspberry Pi"));
        }
        if (chips.stream().anyMatch(accessible)) {
            return Optional.empty();
        }
        Path chip = chips.get(0);
        String user = System.getProperty("user.name", "this user");
        String group = GPIO_GROUP;
        String facts = "";
        try {
            PosixFileAttributes a = Files.readAttributes(chip, PosixFileAttributes.class);
            group = a.group().getName();
            facts = " (owner " + a.owner().getName() + ", group " + group + ", "
                    + PosixFilePermissions.toString(a.permissions()) + ")";
        } catch (IOException | UnsupportedOperationException | SecurityException e) {
            // no attributes: name the group Raspberry Pi OS uses
        }
        String note = "";
        if (group.equals("root")) {
            // joining root would be bad advice: the udev rule that hands the chips to 'gpio' is missing
            group = GPIO_GROUP;
            note = "; the device belongs to root, so also give it to group " + GPIO_GROUP
                    + " with a udev rule (Raspberry Pi OS ships one)";
        }
        return Optional.of(chip + " is not readable and writable by user '" + user + "'" + facts
                + ": join group '" + group + "' (sudo usermod -aG " + group + " " + user
                + ", or SupplementaryGroups=" + group + " in the systemd unit) and restart" + note);
    }

    /**
     * The PWM chip for a passive buzzer: the lowest {@code pwmchipN} with enough channels for {@code channel}
     * (the Pi 5's RP1 PWM has 4, the Pi 4's 2). Empty when none is there: the PWM overlay is not enabled.
     */
    public OptionalInt pwmChip(int channel) {
        for (Path chip : list(pwmDir, PWMCHIP)) {
            try {
                int channels = Integer.parseInt(Files.readString(chip.resolve("npwm")).trim());
                if (channel < channels) {
                    var m = PWMCHIP.matcher(chip.getFileName().toString());
                    if (m.matches()) {
                        return OptionalInt.of(Integer.parseInt(m.group(1)));
                    }
                }
            } catch (IOException | NumberFormatException | SecurityException e) {
                // not a usable chip; try the next
            }
        }
        return OptionalInt.empty();
    }

    /** GPIO 18 (physical pin 12) on both boards: channel 0 of the Pi 4's PWM, channel 2 of the Pi 5's RP1 PWM0. */
    public int defaultPwmChannel() {
        return rp1() ? 2 : 0;
    }

    private static List<Path> list(Path dir, Pattern name) {
        List<Path> found = new ArrayList<>();
        try (Stream<Path> entries = Files.list(dir)) {
            entries.filter(p -> name.matcher(p.getFileName().toString()).matches()).forEach(found::add);
        } catch (IOException | SecurityException e) {
            // no such directory: nothing of that kind here
        }
        found.sort((a, b) -> {
            int byLength = Integer.compare(a.toString().length(), b.toString().length());
            return byLength != 0 ? byLength : a.toString().toLowerCase(Locale.ROOT).compareTo(b.toString().toLowerCase(Locale.ROOT));
        });
        return found;
    }
}
