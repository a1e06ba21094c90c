package app.sevenstamp.autopilot.gateway.feedback;

import java.util.List;
import java.util.Optional;

/**
 * The Raspberry Pi boards the gateway knows, by the model the device tree names
 * ({@code /proc/device-tree/model}), with what each gives the 40-pin header: the label of the gpiochip that
 * drives it, and the PWM block and channel behind GPIO 18 (a passive buzzer). Chip and PWM numbers are not
 * here on purpose: the kernel has renumbered both (the Pi 5's header moved from gpiochip4 to gpiochip0 and
 * on to a two-digit number; its PWM chip is pwmchip0 or pwmchip2 depending on what else is enabled), while
 * labels and device names stayed. Sources for every value: docs/hardware.md.
 *
 * @param models     prefixes of the device-tree model string
 * @param labels     gpiochip labels of the header's chip, the usual first
 * @param lines      how many lines that chip has (a check, not a key)
 * @param pwmDevice  the PWM block's platform device name, as {@code /sys/class/pwm/pwmchipN/device} resolves
 * @param pwmChannel the channel of that block on GPIO 18
 */
public record Board(String name, List<String> models, List<String> labels, int lines, String pwmDevice,
        int pwmChannel) {

    /** Pi 5, Pi 500, Compute Module 5: GPIO and PWM on the RP1 I/O chip. */
    public static final Board PI_5 = new Board("Pi 5",
            List.of("Raspberry Pi 5", "Raspberry Pi 500", "Raspberry Pi Compute Module 5"),
            List.of("pinctrl-rp1"), 54, "1f00098000.pwm", 2);
    /** Pi 4, Pi 400, Compute Module 4: BCM2711. */
    public static final Board PI_4 = new Board("Pi 4",
            List.of("Raspberry Pi 4", "Raspberry Pi 400", "Raspberry Pi Compute Module 4"),
            List.of("pinctrl-bcm2711", "pinctrl-bcm2835"), 58, "fe20c000.pwm", 0);
    /** Pi 3, Zero 2 W, Compute Module 3: BCM2837, whose GPIO driver is the BCM2835's. */
    public static final Board PI_3 = new Board("Pi 3 / Zero 2 W",
            List.of("Raspberry Pi 3", "Raspberry Pi Zero 2", "Raspberry Pi Compute Module 3"),
            List.of("pinctrl-bcm2835"), 54, "3f20c000.pwm", 0);

    public static final List<Board> KNOWN = List.of(PI_5, PI_4, PI_3);

    public Board {
        models = List.copyOf(models);
        labels = List.copyOf(labels);
    }

    /** The board for a device-tree model string; empty for any other machine (or a Pi 1, 2 or Zero). */
    public static Optional<Board> of(String model) {
        for (Board b : KNOWN) {
            if (b.models.stream().anyMatch(model::startsWith)) {
                return Optional.of(b);
            }
        }
        return Optional.empty();
    }

    /** For messages: {@code Pi 5, Pi 4, Pi 3 / Zero 2 W}. */
    public static String knownNames() {
        return String.join(", ", KNOWN.stream().map(Board::name).toList());
    }
}
