package app.sevenstamp.autopilot.gateway.config;

import app.sevenstamp.autopilot.protocol.support.ConfigKey;
import app.sevenstamp.autopilot.protocol.support.Settings;
import java.util.EnumMap;
import java.util.EnumSet;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import java.util.stream.Stream;

/**
 * LED and buzzer hardware. {@code bluePin} is used only with {@link LedType#RGB}, {@code buzzerPin} only with
 * {@link BuzzerType#ACTIVE}; {@code pwmChip} and {@code pwmChannel} only with {@link BuzzerType#PASSIVE}, where
 * {@link #AUTO} means "find it from the board".
 *
 * @param activeLow the outputs driven low to switch them on
 */
public record FeedbackSettings(FeedbackType type, LedType led, int greenPin, int redPin, int bluePin,
        BuzzerType buzzer, int buzzerPin, int pwmChip, int pwmChannel, Set<FeedbackPin> activeLow,
        String gpioChip) {
    public static final int AUTO = -1;
    /** {@code feedback.gpio.chip} when the chip is found from the board. */
    public static final String AUTO_CHIP = "auto";

    /**
     * @param gpioChip {@link #AUTO_CHIP} (the chip with the board's label) or a gpiochip's label or name
     */
    public FeedbackSettings {
        Objects.requireNonNull(type, "type");
        Objects.requireNonNull(led, "led");
        Objects.requireNonNull(buzzer, "buzzer");
        Objects.requireNonNull(gpioChip, "gpioChip");
        activeLow = activeLow.isEmpty() ? Set.of() : Set.copyOf(EnumSet.copyOf(activeLow));
    }

    /** The configured outputs and their BCM lines, in the order they are wired: green, red, blue, buzzer. */
    public Map<FeedbackPin, Integer> lines() {
        Map<FeedbackPin, Integer> lines = new EnumMap<>(FeedbackPin.class);
        lines.put(FeedbackPin.GREEN, greenPin);
        lines.put(FeedbackPin.RED, redPin);
        if (led == LedType.RGB) {
            lines.put(FeedbackPin.BLUE, bluePin);
        }
        if (buzzer == BuzzerType.ACTIVE) {
            lines.put(FeedbackPin.BUZZER, buzzerPin);
        }
        return lines;
    }

    /** Green and red LEDs, an active buzzer, all active-high: the wiring in the README. */
    public static FeedbackSettings pair(FeedbackType type, int greenPin, int redPin, int buzzerPin) {
        return new FeedbackSettings(type, LedType.PAIR, greenPin, redPin, 23, BuzzerType.ACTIVE, buzzerPin,
                AUTO, AUTO, Set.of(), AUTO_CHIP);
    }

    public boolean activeLow(FeedbackPin pin) {
        return activeLow.contains(pin);
    }

    /** For the start log line: {@code green=17 red=27 buzzer=22 (active) active-low=red}. */
    public String describe() {
        StringBuilder b = new StringBuilder();
        b.append(led == LedType.RGB ? "rgb " : "").append("green=").append(greenPin).append(" red=").append(redPin);
        if (led == LedType.RGB) {
            b.append(" blue=").append(bluePin);
        }
        switch (buzzer) {
            case ACTIVE -> b.append(" buzzer=").append(buzzerPin).append(" (active)");
            case PASSIVE -> b.append(" buzzer=pwm chip ").append(pwmChip == AUTO ? "auto" : pwmChip)
                    .append(" channel ").append(pwmChannel == AUTO ? "auto" : pwmChannel).append(" (passive)");
            case NONE -> b.append(" buzzer=none");
        }
        if (!activeLow.isEmpty()) {
            b.append(" active-low=").append(activeLow.stream().sorted().map(p -> Settings.name(p))
                    .collect(Collectors.joining(",")));
        }
        return b.toString();
    }

    public enum FeedbackType { AUTO, CONSOLE, GPIO }

    /** Two single LEDs, or one common-cathode RGB LED on three pins. */
    public enum LedType { PAIR, RGB }

    /** An active buzzer sounds when its pin is on; a passive one plays the PWM frequency as a tone. */
    public enum BuzzerType { ACTIVE, PASSIVE, NONE }

    /** The physical feedback outputs, as named in {@code feedback.gpio.activeLow}. */
    public enum FeedbackPin { GREEN, RED, BLUE, BUZZER }

    /** Reads the {@code feedback.*} keys. */
    static FeedbackSettings read(Settings s) {
        FeedbackType type = s.choice(GatewayKeys.FEEDBACK_TYPE, FeedbackType.class);
        LedType led = s.choice(GatewayKeys.FEEDBACK_LED, LedType.class);
        BuzzerType buzzer = s.choice(GatewayKeys.FEEDBACK_BUZZER, BuzzerType.class);
        int green = s.integer(GatewayKeys.FEEDBACK_GPIO_GREEN);
        int red = s.integer(GatewayKeys.FEEDBACK_GPIO_RED);
        int blue = s.integer(GatewayKeys.FEEDBACK_GPIO_BLUE);
        int buzzerPin = s.integer(GatewayKeys.FEEDBACK_GPIO_BUZZER);
        int chip = autoOr(s, GatewayKeys.FEEDBACK_PWM_CHIP);
        int channel = autoOr(s, GatewayKeys.FEEDBACK_PWM_CHANNEL);
        if (red == green) {
            throw Settings.bad("feedback.gpio.red", String.valueOf(red), "a BCM pin 0..27 not used by feedback.gpio.green");
        }
        if (led == LedType.RGB && (blue == green || blue == red)) {
            throw Settings.bad("feedback.gpio.blue", String.valueOf(blue),
                    "a BCM pin 0..27 not used by feedback.gpio.green or feedback.gpio.red");
        }
        if (buzzer == BuzzerType.ACTIVE && (buzzerPin == green || buzzerPin == red
                || (led == LedType.RGB && buzzerPin == blue))) {
            throw Settings.bad("feedback.gpio.buzzer", String.valueOf(buzzerPin), "a BCM pin 0..27 not used by "
                    + (led == LedType.RGB ? "feedback.gpio.green, feedback.gpio.red or feedback.gpio.blue"
                            : "feedback.gpio.green or feedback.gpio.red"));
        }
        Set<FeedbackPin> activeLow = activeLow(s);
        if (buzzer == BuzzerType.PASSIVE && activeLow.contains(FeedbackPin.BUZZER)) {
            throw Settings.bad("feedback.gpio.activeLow", s.string(GatewayKeys.FEEDBACK_GPIO_ACTIVE_LOW.name(), ""),
                    "outputs other than buzzer while feedback.buzzer is passive (a PWM tone has no active level)");
        }
        String gpioChip = s.string(GatewayKeys.FEEDBACK_GPIO_CHIP).trim();
        if (!GPIO_CHIP.matcher(gpioChip).matches()) {
            throw Settings.bad("feedback.gpio.chip", gpioChip,
                    "auto, or the label or name of a GPIO chip as gpiodetect prints it (pinctrl-rp1, gpiochip0)");
        }
        return new FeedbackSettings(type, led, green, red, blue, buzzer, buzzerPin, chip, channel, activeLow, gpioChip);
    }

    /** A gpiochip label or name: at most 31 characters (the kernel's label field), no spaces or slashes. */
    private static final Pattern GPIO_CHIP = Pattern.compile("[A-Za-z0-9][A-Za-z0-9_.@:-]{0,30}");

    private static int autoOr(Settings s, ConfigKey k) {
        String key = k.name();
        int max = Integer.parseInt(k.max());
        String value = s.string(k);
        if (value.equalsIgnoreCase("auto")) {
            return FeedbackSettings.AUTO;
        }
        try {
            int n = Integer.parseInt(value);
            if (n >= 0 && n <= max) {
                return n;
            }
        } catch (NumberFormatException e) {
            // reported below with what is allowed
        }
        throw Settings.bad(key, value, "auto or a whole number in 0.." + max);
    }

    /** {@code true} is every output, {@code false} none, otherwise a comma list of output names. */
    private static Set<FeedbackPin> activeLow(Settings s) {
        String value = s.string(GatewayKeys.FEEDBACK_GPIO_ACTIVE_LOW);
        String lower = value.toLowerCase(Locale.ROOT);
        if (lower.equals("true")) {
            return EnumSet.allOf(FeedbackPin.class);
        }
        if (lower.equals("false")) {
            return Set.of();
        }
        EnumSet<FeedbackPin> pins = EnumSet.noneOf(FeedbackPin.class);
        for (String name : s.list("feedback.gpio.activeLow")) {
            FeedbackPin pin = Stream.of(FeedbackPin.values()).filter(p -> Settings.name(p).equals(name.toLowerCase(Locale.ROOT)))
                    .findFirst().orElseThrow(() -> Settings.bad("feedback.gpio.activeLow", value,
                            "true, false, or a comma list of green, red, blue, buzzer"));
            pins.add(pin);
        }
        return pins;
    }
}
