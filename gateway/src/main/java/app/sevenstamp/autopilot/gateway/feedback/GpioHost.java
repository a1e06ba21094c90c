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
import java.util.HashSet;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.Set;
import java.util.function.Function;
import java.util.function.Predicate;
import java.util.stream.Collectors;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * What this machine offers for GPIO feedback, read from the files Linux shows under one root ({@code /} on
 * the box, a temporary folder in tests): the board model ({@code proc/device-tree/model}), the GPIO character
 * devices ({@code dev/gpiochip*}) with their labels, and the PWM chips ({@code sys/class/pwm}).
 *
 * <p>The header's gpiochip is found by its label, never by its number (the Pi 5's moved from gpiochip4 to
 * gpiochip0 and later to a two-digit number). A chip's label is read, in this order:
 * <ol>
 * <li>{@code GPIO_GET_CHIPINFO_IOCTL} on {@code /dev/gpiochipN}: what gpiodetect, libgpiod and Pi4J read;
 * needs the device to be openable;</li>
 * <li>the legacy sysfs class: {@code /sys/bus/gpio/devices/gpiochipN} resolves into its parent device's
 * folder, and the same parent holds {@code gpio/gpiochipBASE/label} when the kernel has
 * CONFIG_GPIO_SYSFS (Raspberry Pi OS kernels do). {@code /sys/bus/gpio/devices/gpiochipN} itself has no
 * label file, and the BASE in /sys/class/gpio is not the N of /dev (512 and up on current kernels).
 * A parent with several chips (the Pi 5's gpio-brcmstb banks) gives no answer.</li>
 * </ol>
 * Sources in docs/hardware.md.
 *
 * @param root       where {@code proc}, {@code dev} and {@code sys} are
 * @param chipInfo   reads a chip's label with the ioctl ({@link GpioCdev#chipInfo}); tests pass one that finds
 *                   nothing, as on a fake tree the ioctl cannot work
 * @param accessible whether this process may open a device read-write ({@link Files#isReadable} and
 *                   {@link Files#isWritable} in production; tests pass their own, since root may open anything)
 */
public record GpioHost(Path root, Function<Path, Optional<GpioCdev.ChipInfo>> chipInfo, Predicate<Path> accessible) {
    private static final Pattern GPIOCHIP = Pattern.compile("gpiochip(\\d+)");
    private static final Pattern PWMCHIP = Pattern.compile("pwmchip(\\d+)");
    /** The group Raspberry Pi OS gives /dev/gpiochip* and /sys/class/pwm; used when the device's own cannot be read. */
    static final String GPIO_GROUP = "gpio";
    /** Pi4J 2.8's gpiod provider drives the first chip (by name) whose label contains this; it cannot be told otherwise. */
    static final String PI4J_LABEL_PART = "pinctrl";

    public GpioHost {
        Objects.requireNonNull(root, "root");
        Objects.requireNonNull(chipInfo, "chipInfo");
        Objects.requireNonNull(accessible, "accessible");
    }

    public static GpioHost system() {
        return new GpioHost(Path.of("/"), GpioCdev::chipInfo, p -> Files.isReadable(p) && Files.isWritable(p));
    }

    /** A GPIO character device and its label. @param labelSource how the label was read, for the check's line */
    public record Chip(String name, Path device, String label, int lines, String labelSource) {
        /** {@code gpiochip0 [pinctrl-rp1] (54 lines)}, as gpiodetect prints it. */
        public String describe() {
            return name + " [" + (label == null ? "label unknown" : label) + "]" + (lines > 0 ? " (" + lines + " lines)" : "");
        }
    }

    Path modelFile() {
        return root.resolve("proc/device-tree/model");
    }

    Path devDir() {
        return root.resolve("dev");
    }

    Path pwmDir() {
        return root.resolve("sys/class/pwm");
    }

    /** The board model as the device tree names it, e.g. {@code Raspberry Pi 5 Model B Rev 1.0}; "unknown" elsewhere. */
    public String model() {
        try {
            String model = new String(Files.readAllBytes(modelFile()), StandardCharsets.UTF_8).replace("\0", "").trim();
            return model.isEmpty() ? "unknown" : model;
        } catch (IOException | SecurityException e) {
            return "unknown";
        }
    }

    public boolean raspberryPi() {
        return model().startsWith("Raspberry Pi");
    }

    /** The board from the model, if it is one this gateway knows. */
    public Optional<Board> board() {
        return Board.of(model());
    }

    /** Every GPIO character device (symlinks such as the Pi 5's gpiochip4 -> gpiochip0 once), by name, with its label. */
    public List<Chip> chips() {
        List<Chip> chips = new ArrayList<>();
        Set<Path> seen = new HashSet<>();
        for (Path dev : list(devDir(), GPIOCHIP)) {
            Path real;
            try {
                real = dev.toRealPath();
            } catch (IOException | SecurityException e) {
                continue; // a dangling link
            }
            if (!seen.add(real)) {
                continue;
            }
            String name = real.getFileName().toString();
            Optional<GpioCdev.ChipInfo> info = chipInfo.apply(real);
            if (info.isPresent()) {
                chips.add(new Chip(name, real, info.get().label(), info.get().lines(), "ioctl"));
            } else {
                Optional<String> label = sysfsLabel(name);
                chips.add(new Chip(name, real, label.orElse(null), 0, label.isPresent() ? "sysfs" : "none"));
            }
        }
        chips.sort((a, b) -> byName(a.name(), b.name()));
        return chips;
    }

    /** The legacy class entry that shares the chip's parent device (see the class comment). */
    private Optional<String> sysfsLabel(String name) {
        Path bus = root.resolve("sys/bus/gpio/devices").resolve(name);
        try {
            Path real = bus.toRealPath();
            for (Path owner : new Path[] {real.getParent(), real}) {
                List<Path> legacy = list(owner.resolve("gpio"), GPIOCHIP);
                if (legacy.size() == 1) {
                    String label = Files.readString(legacy.get(0).resolve("label")).trim();
                    return label.isEmpty() ? Optional.empty() : Optional.of(label);
                }
            }
        } catch (IOException | SecurityException e) {
            // no such chip in sysfs, or no legacy interface: the label stays unknown
        }
        return Optional.empty();
    }

    /**
     * The chip that drives the 40-pin header: the one named by {@code feedback.gpio.chip} (a label or a
     * gpiochipN name), else the one with the board's label.
     *
     * @param configured {@code auto} or the configured label or name
     * @throws GpioLookupException naming what was found and the key to set
     */
    public Chip headerChip(String configured) {
        List<Chip> chips = chips();
        String found = chips.isEmpty() ? "no " + devDir().resolve("gpiochip*")
                : "found " + chips.stream().map(Chip::describe).collect(Collectors.joining(", "));
        if (!configured.equalsIgnoreCase("auto")) {
            return chips.stream().filter(c -> c.name().equals(configured) || configured.equals(c.label())).findFirst()
                    .orElseThrow(() -> new GpioLookupException("feedback.gpio.chip=" + configured
                            + " matches no GPIO chip's name or label: " + found));
        }
        Board board = board().orElseThrow(() -> new GpioLookupException("board '" + model()
                + "' is not one this gateway knows (" + Board.knownNames() + "): set feedback.gpio.chip to the label "
                + "or name of the chip that drives the 40-pin header (gpiodetect lists them); " + found));
        for (String label : board.labels()) {
            Optional<Chip> chip = chips.stream().filter(c -> label.equals(c.label())).findFirst();
            if (chip.isPresent()) {
                return chip.get();
            }
        }
        throw new GpioLookupException("no GPIO chip labelled " + String.join(" or ", board.labels()) + " on this "
                + board.name() + " (" + model() + "): " + found + "; set feedback.gpio.chip to the header's chip");
    }

    /**
     * The chip Pi4J's gpiod provider will drive: its bundled libgpiod 1 lists /dev in alphabetical order
     * (gpiochip10 before gpiochip4) and Pi4J takes the first whose label contains "pinctrl".
     */
    public Optional<Chip> pi4jChip() {
        return chips().stream().filter(c -> c.label() != null && c.label().contains(PI4J_LABEL_PART))
                .min((a, b) -> a.name().compareTo(b.name()));
    }

    /** Why GPIO cannot be used here, naming what to do; empty when it can. */
    public Optional<String> problem() {
        List<Path> chips = list(devDir(), GPIOCHIP);
        if (chips.isEmpty()) {
            return Optional.of("no " + devDir().resolve("gpiochip*") + " on this machine (board: " + model() + ")"
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
     * The PWM chip for a passive buzzer on GPIO 18: the {@code pwmchipN} whose device is the board's PWM block
     * (never the lowest number: on a Pi 5 that can be the fan's PWM1 or a display's backlight) and that has the
     * channel. Empty when it is not there: the PWM overlay is not enabled.
     *
     * @throws GpioLookupException on a board this gateway does not know, naming the keys to set
     */
    public OptionalInt pwmChip(int channel) {
        Board board = board().orElseThrow(() -> new GpioLookupException("board '" + model()
                + "' is not one this gateway knows (" + Board.knownNames()
                + "): set feedback.pwm.chip and feedback.pwm.channel for the passive buzzer"));
        for (Path chip : list(pwmDir(), PWMCHIP)) {
            try {
                Path device = chip.resolve("device").toRealPath();
                int channels = Integer.parseInt(Files.readString(chip.resolve("npwm")).trim());
                if (device.getFileName().toString().equals(board.pwmDevice()) && channel < channels) {
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

    /**
     * GPIO 18 (physical pin 12): channel 0 of the BCM PWM on the Pi 3 and 4, channel 2 of the RP1's PWM0.
     *
     * @throws GpioLookupException on a board this gateway does not know
     */
    public int defaultPwmChannel() {
        return board().map(Board::pwmChannel).orElseThrow(() -> new GpioLookupException("board '" + model()
                + "' is not one this gateway knows (" + Board.knownNames() + "): set feedback.pwm.channel"));
    }

    /** A PWM chip's block, for messages: {@code pwmchip2 (1f00098000.pwm, 4 channels)}. */
    public String describePwmChip(int n) {
        Path chip = pwmDir().resolve("pwmchip" + n);
        String device;
        String channels;
        try {
            device = chip.resolve("device").toRealPath().getFileName().toString();
        } catch (IOException | SecurityException e) {
            device = "device unknown";
        }
        try {
            channels = Files.readString(chip.resolve("npwm")).trim() + " channels";
        } catch (IOException | SecurityException e) {
            channels = "no npwm";
        }
        return "pwmchip" + n + " (" + device + ", " + channels + ")";
    }

    /** gpiochip2 before gpiochip10: by the number, as people read them. */
    private static int byName(String a, String b) {
        int byLength = Integer.compare(a.length(), b.length());
        return byLength != 0 ? byLength : a.compareTo(b);
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
