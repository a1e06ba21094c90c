package app.sevenstamp.autopilot.gateway.check;

import app.sevenstamp.autopilot.gateway.config.FeedbackSettings;
import app.sevenstamp.autopilot.gateway.config.FeedbackSettings.FeedbackType;
import app.sevenstamp.autopilot.gateway.feedback.Feedback;
import app.sevenstamp.autopilot.gateway.feedback.Patterns;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.function.Function;
import java.util.function.Supplier;

/**
 * Plays the self-test pattern (every light, then the buzzer) so the installer sees and hears the wiring.
 * This claims the GPIO lines for real, through the same Pi4J providers the gateway uses; it runs only when
 * the GPIO check found every line free.
 */
final class SelfTestCheck implements Check {
    private final FeedbackSettings settings;
    private final Supplier<Optional<FeedbackSettings>> usable;
    private final Function<FeedbackSettings, Feedback> open;
    private final Feedback console;

    /**
     * @param usable  the GPIO check's resolved settings, empty when it failed
     * @param open    opens GPIO feedback ({@code GpioFeedback.openGpiod} on the box)
     * @param console where the pattern goes with {@code feedback.type=console}
     */
    SelfTestCheck(FeedbackSettings settings, Supplier<Optional<FeedbackSettings>> usable,
            Function<FeedbackSettings, Feedback> open, Feedback console) {
        this.settings = settings;
        this.usable = usable;
        this.open = open;
        this.console = console;
    }

    @Override
    public List<CheckLine> run() {
        if (settings.type() == FeedbackType.CONSOLE) {
            console.selfTest();
            return List.of(CheckLine.ok("self-test", "played on the console (feedback.type=console)"));
        }
        Optional<FeedbackSettings> resolved = usable.get();
        if (resolved.isEmpty()) {
            // the GPIO lines above already failed: not a problem of its own
            return List.of(CheckLine.warn("self-test", "not played: GPIO is not usable (the FAIL lines above)"));
        }
        Feedback gpio;
        try {
            gpio = open.apply(resolved.get());
        } catch (RuntimeException | LinkageError e) {
            return List.of(CheckLine.fail("self-test", "GPIO could not be opened: " + e
                    + (e.getCause() != null ? ", caused by " + e.getCause() : "")));
        }
        try {
            gpio.selfTest();
            // the pattern plays on the feedback thread; close() would cut it off
            Thread.sleep(Patterns.selfTest().duration().plus(Duration.ofMillis(200)).toMillis());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } finally {
            gpio.close();
        }
        return List.of(CheckLine.ok("self-test", "played on " + resolved.get().describe()
                + ": every light in turn, then the buzzer; if one stayed dark or silent, check its wiring"));
    }
}
