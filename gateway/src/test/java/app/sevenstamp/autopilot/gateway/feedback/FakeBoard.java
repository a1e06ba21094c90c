package app.sevenstamp.autopilot.gateway.feedback;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;
import java.util.function.Predicate;

/**
 * A folder laid out like the root of a board, as far as GPIO goes: {@code proc/device-tree/model}
 * (NUL-terminated, as the device tree gives it), {@code dev/gpiochipN}, {@code sys/bus/gpio/devices/gpiochipN}
 * resolving into the parent device's folder, the legacy {@code gpio/gpiochipBASE/label} beside it with its
 * {@code sys/class/gpio} link, and {@code sys/class/pwm/pwmchipN} with {@code npwm} and the {@code device}
 * link naming the PWM block. The layouts follow what people posted from real boards (docs/hardware.md).
 */
public final class FakeBoard {
    public final Path root;

    public FakeBoard(Path root) {
        this.root = root;
    }

    public FakeBoard model(String model) {
        write(root.resolve("proc/device-tree/model"), model + "\0");
        return this;
    }

    /**
     * A GPIO chip: the character device, its gpio-bus entry under {@code parent} (a path below sys/devices), and
     * the legacy class entry with the label (none when {@code label} is null, as without CONFIG_GPIO_SYSFS).
     */
    public FakeBoard gpioChip(int n, String parent, String label, int base, int lines) {
        try {
            Files.createDirectories(root.resolve("dev"));
            Path dev = root.resolve("dev/gpiochip" + n);
            if (!Files.exists(dev)) {
                Files.createFile(dev);
            }
            Path device = Files.createDirectories(root.resolve("sys/devices").resolve(parent));
            Path chip = Files.createDirectories(device.resolve("gpiochip" + n));
            link(root.resolve("sys/bus/gpio/devices/gpiochip" + n), chip);
            if (label != null) {
                Path legacy = Files.createDirectories(device.resolve("gpio/gpiochip" + base));
                write(legacy.resolve("label"), label + "\n");
                write(legacy.resolve("ngpio"), lines + "\n");
                write(legacy.resolve("base"), base + "\n");
                link(root.resolve("sys/class/gpio/gpiochip" + base), legacy);
            }
            return this;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** A symlink in /dev, like the Pi 5's gpiochip4 -> gpiochip0 kept for old programs. */
    public FakeBoard devLink(String name, String target) {
        try {
            Files.createSymbolicLink(root.resolve("dev").resolve(name), Path.of(target));
            return this;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** A PWM chip of the block {@code device} (a path below sys/devices), as /sys/class/pwm shows it. */
    public FakeBoard pwmChip(int n, String device, int channels) {
        try {
            Path block = Files.createDirectories(root.resolve("sys/devices").resolve(device));
            Path chip = Files.createDirectories(block.resolve("pwm/pwmchip" + n));
            write(chip.resolve("npwm"), channels + "\n");
            link(chip.resolve("device"), block);
            link(root.resolve("sys/class/pwm/pwmchip" + n), chip);
            return this;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    public GpioHost host() {
        return host(p -> true);
    }

    /** No ioctl on a fake tree: labels come from sysfs. */
    public GpioHost host(Predicate<Path> accessible) {
        return new GpioHost(root, p -> Optional.empty(), accessible);
    }

    /** Pi 5 on kernel 6.6.45 and later: the header's chip is gpiochip0, the SoC's from gpiochip10 (raspberrypi/linux#6144). */
    public static FakeBoard pi5(Path root) {
        String rp1 = "platform/axi/1000120000.pcie/1f000d0000.gpio";
        return new FakeBoard(root).model("Raspberry Pi 5 Model B Rev 1.0")
                .gpioChip(0, rp1, "pinctrl-rp1", 569, 54)
                .gpioChip(10, "platform/soc/107d508500.gpio", "gpio-brcmstb@107d508500", 512, 32)
                .gpioChip(11, "platform/soc/107d508500.gpio", "gpio-brcmstb@107d508520", 544, 4)
                .gpioChip(12, "platform/soc/107d517c00.gpio", "gpio-brcmstb@107d517c00", 548, 17)
                .gpioChip(13, "platform/soc/107d517c00.gpio", "gpio-brcmstb@107d517c20", 565, 6)
                .devLink("gpiochip4", "gpiochip0");
    }

    public static FakeBoard pi4(Path root) {
        return new FakeBoard(root).model("Raspberry Pi 4 Model B Rev 1.5")
                .gpioChip(0, "platform/soc/fe200000.gpio", "pinctrl-bcm2711", 512, 58)
                .gpioChip(1, "platform/soc/soc:firmware/soc:firmware:gpio", "raspberrypi-exp-gpio", 570, 8);
    }

    public static FakeBoard zero2w(Path root) {
        return new FakeBoard(root).model("Raspberry Pi Zero 2 W Rev 1.0")
                .gpioChip(0, "platform/soc/3f200000.gpio", "pinctrl-bcm2835", 512, 54);
    }

    private static void link(Path link, Path target) throws IOException {
        Files.createDirectories(link.getParent());
        Files.createSymbolicLink(link, target);
    }

    private static void write(Path file, String text) {
        try {
            Files.createDirectories(file.getParent());
            Files.writeString(file, text, StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
