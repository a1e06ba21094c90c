package app.sevenstamp.autopilot.gateway.feedback;

import app.sevenstamp.autopilot.gateway.Ticker;
import app.sevenstamp.autopilot.gateway.config.GatewayConfig.FeedbackSettings;
import app.sevenstamp.autopilot.gateway.config.GatewayConfig.FeedbackType;
import org.tinylog.Logger;

/** Picks the feedback the configuration asks for, falling back to the console when GPIO is unavailable. */
public final class Feedbacks {
    private Feedbacks() {
    }

    /** @param console what to use for {@code feedback.type=console}, and the fallback */
    public static Feedback create(FeedbackSettings settings, Ticker ticker, ConsoleFeedback console) {
        if (settings.type() == FeedbackType.CONSOLE) {
            return console;
        }
        try {
            GpioFeedback gpio = GpioFeedback.openGpiod(settings, ticker);
            Logger.info("GPIO feedback on BCM green={} red={} buzzer={}{}", settings.greenPin(), settings.redPin(),
                    settings.buzzerPin(), settings.activeLow() ? " (active low)" : "");
            return gpio;
        } catch (RuntimeException | LinkageError e) {
            // a box that cannot beep still stamps: say loudly why, and go on with the console
            Logger.error("GPIO feedback is not available ({}). It needs a Raspberry Pi with gpiod and read-write access "
                    + "to /dev/gpiochip*: add the service user to group 'gpio'. Falling back to console feedback.",
                    rootCause(e));
            return console;
        }
    }

    private static String rootCause(Throwable e) {
        Throwable t = e;
        while (t.getCause() != null && t.getCause() != t) {
            t = t.getCause();
        }
        return t == e ? e.toString() : e + ", caused by " + t;
    }
}
