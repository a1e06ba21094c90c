package app.sevenstamp.autopilot.gateway.check;

import app.sevenstamp.autopilot.gateway.config.FeedbackSettings.BuzzerType;
import app.sevenstamp.autopilot.gateway.config.FeedbackSettings.FeedbackPin;
import app.sevenstamp.autopilot.gateway.config.FeedbackSettings;
import app.sevenstamp.autopilot.gateway.config.FeedbackSettings.FeedbackType;
import app.sevenstamp.autopilot.gateway.feedback.Feedbacks;
import app.sevenstamp.autopilot.gateway.feedback.GpioCdev;
import app.sevenstamp.autopilot.gateway.feedback.GpioHost;
import app.sevenstamp.autopilot.gateway.feedback.GpioLookupException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.BiFunction;

/**
 * The header's gpiochip (found by its label), each configured line (free, or held by whom), and the PWM
 * chip of a passive buzzer. Whether a line is free is read with {@code GPIO_V2_GET_LINEINFO_IOCTL}, which
 * changes no pin; the self-test then claims the lines for real. A line the running gateway holds shows as
 * used: stop the service before the check (scripts/pi-check says so).
 */
final class GpioCheck implements Check {
    private final FeedbackSettings settings;
    private final GpioHost host;
    private final BiFunction<Path, Integer, Optional<GpioCdev.LineInfo>> lineInfo;
    private FeedbackSettings resolved;

    /** @param lineInfo {@link GpioCdev#lineInfo} on the box */
    GpioCheck(FeedbackSettings settings, GpioHost host, BiFunction<Path, Integer, Optional<GpioCdev.LineInfo>> lineInfo) {
        this.settings = settings;
        this.host = host;
        this.lineInfo = lineInfo;
    }

    /** The settings with the PWM chip filled in, when every GPIO line passed; empty otherwise. */
    Optional<FeedbackSettings> usable() {
        return Optional.ofNullable(resolved);
    }

    @Override
    public List<CheckLine> run() {
        resolved = null;
        if (settings.type() == FeedbackType.CONSOLE) {
            return List.of(CheckLine.warn("gpio", "feedback.type=console: no light or beeper is driven; "
                    + "set feedback.type=auto for the LEDs and buzzer"));
        }
        Optional<String> problem = host.problem();
        if (problem.isPresent()) {
            return List.of(CheckLine.fail("gpio", problem.get()));
        }
        List<CheckLine> lines = new ArrayList<>();
        GpioHost.Chip chip;
        try {
            chip = host.headerChip(settings.gpioChip());
        } catch (GpioLookupException e) {
            return List.of(CheckLine.fail("gpio", e.getMessage()));
        }
        lines.add(CheckLine.ok("gpio", chip.describe() + " at " + chip.device() + " (label read by " + chip.labelSource()
                + (settings.gpioChip().equalsIgnoreCase("auto") ? ", the board's" : ", feedback.gpio.chip") + ")"));
        boolean allFree = true;
        for (Map.Entry<FeedbackPin, Integer> pin : settings.lines().entrySet()) {
            CheckLine line = line(chip, pin.getKey(), pin.getValue());
            allFree &= line.status() != CheckLine.Status.FAIL;
            lines.add(line);
        }
        FeedbackSettings withPwm;
        try {
            withPwm = Feedbacks.resolve(settings, host);
        } catch (GpioLookupException e) {
            lines.add(CheckLine.fail(settings.buzzer() == BuzzerType.PASSIVE ? "pwm" : "gpio", e.getMessage()));
            return lines;
        }
        if (settings.buzzer() == BuzzerType.PASSIVE) {
            lines.add(CheckLine.ok("pwm", host.describePwmChip(withPwm.pwmChip()) + " channel " + withPwm.pwmChannel()
                    + " (GPIO 18) for the passive buzzer"));
        }
        if (allFree) {
            resolved = withPwm;
        }
        return lines;
    }

    private CheckLine line(GpioHost.Chip chip, FeedbackPin pin, int offset) {
        String subject = "gpio line " + offset + " (" + name(pin) + ")";
        Optional<GpioCdev.LineInfo> info = lineInfo.apply(chip.device(), offset);
        if (info.isEmpty()) {
            return CheckLine.warn(subject, "cannot read its state from " + chip.device() + "; the self-test below claims it");
        }
        GpioCdev.LineInfo l = info.get();
        String named = l.name().isEmpty() ? "" : " (" + l.name() + ")";
        if (l.used()) {
            return CheckLine.fail(subject, "in use" + named + " by '" + (l.consumer().isEmpty() ? "unnamed" : l.consumer())
                    + "': stop what holds it (the gateway service: sudo systemctl stop 7stamp-gateway; a dtoverlay "
                    + "in /boot/firmware/config.txt) or wire the " + name(pin) + " to another pin");
        }
        return CheckLine.ok(subject, "free" + named + ", can be claimed");
    }

    static String name(FeedbackPin pin) {
        return switch (pin) {
            case GREEN -> "green LED";
            case RED -> "red LED";
            case BLUE -> "blue LED";
            case BUZZER -> "active buzzer";
        };
    }
}
