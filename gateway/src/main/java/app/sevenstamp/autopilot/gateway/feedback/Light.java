package app.sevenstamp.autopilot.gateway.feedback;

import app.sevenstamp.autopilot.gateway.config.FeedbackSettings.FeedbackPin;
import app.sevenstamp.autopilot.gateway.config.FeedbackSettings.LedType;
import java.util.EnumSet;
import java.util.Set;

/**
 * What the light shows during a step. Patterns are written in colours, and the hardware maps them: a pair of
 * green and red LEDs shows amber as both on, and blue (which it lacks) as amber too, so every pattern also
 * works on the smallest wiring.
 */
enum Light {
    OFF,
    GREEN,
    RED,
    /** Red and green together: "not a success, not a fault" (too soon); on an RGB LED a yellowish mix. */
    AMBER,
    /** Only identify and the self-test use it, so on an RGB box it never stands for a scan. */
    BLUE;

    /** The LED pins that are on for this colour. */
    public Set<FeedbackPin> pins(LedType led) {
        return switch (this) {
            case OFF -> Set.of();
            case GREEN -> EnumSet.of(FeedbackPin.GREEN);
            case RED -> EnumSet.of(FeedbackPin.RED);
            case AMBER -> EnumSet.of(FeedbackPin.RED, FeedbackPin.GREEN);
            case BLUE -> led == LedType.RGB ? EnumSet.of(FeedbackPin.BLUE) : EnumSet.of(FeedbackPin.RED, FeedbackPin.GREEN);
        };
    }
}
