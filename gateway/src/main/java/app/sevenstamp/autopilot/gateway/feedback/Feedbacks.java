package app.sevenstamp.autopilot.gateway.feedback;

import app.sevenstamp.autopilot.gateway.support.Ticker;
import app.sevenstamp.autopilot.gateway.config.FeedbackSettings.BuzzerType;
import app.sevenstamp.autopilot.gateway.config.FeedbackSettings;
import app.sevenstamp.autopilot.gateway.config.FeedbackSettings.FeedbackType;
import java.util.Optional;
import java.util.OptionalInt;
import org.tinylog.Logger;

/**
 * Picks the feedback the configuration asks for: the console when told so or off a Pi, GPIO otherwise,
 * falling back to the console (with an error that says what to fix) when GPIO cannot be opened. A box
 * that cannot beep still stamps.
 */
public final class Feedbacks {
    private Feedbacks() {
    }

    /** @param console what to use for {@code feedback.type=console}, off a Pi, and the fallback */
    public static Feedback create(FeedbackSettings settings, Ticker ticker, ConsoleFeedback console) {
        return create(settings, ticker, console, GpioHost.system());
    }

    static Feedback create(FeedbackSettings settings, Ticker ticker, ConsoleFeedback console, GpioHost host) {
        if (settings.type() == FeedbackType.CONSOLE) {
            return console;
        }
        if (settings.type() == FeedbackType.AUTO && !host.raspberryPi()) {
            Logger.info("console feedback: this is not a Raspberry Pi (board: {}); feedback.type=gpio would try GPIO anyway",
                    host.model());
            return console;
        }
        Optional<String> problem = host.problem();
        if (problem.isPresent()) {
            Logger.error("GPIO feedback is not available: {}. Falling back to console feedback.", problem.get());
            return console;
        }
        try {
            FeedbackSettings resolved = resolve(settings, host);
            GpioFeedback gpio = GpioFeedback.openGpiod(resolved, resolved.pwmChip() == FeedbackSettings.AUTO ? 0
                    : resolved.pwmChip(), ticker);
            Logger.info("GPIO feedback on {} ({}): {}", host.model(), "gpiod", resolved.describe());
            return gpio;
        } catch (GpioLookupException e) {
            Logger.error("GPIO feedback is not available: {}. Falling back to console feedback.", e.getMessage());
            return console;
        } catch (RuntimeException | LinkageError e) {
            Logger.error("GPIO feedback could not be opened ({}). It needs read-write access to /dev/gpiochip* "
                    + "(and /sys/class/pwm for a passive buzzer): the service user must be in group '{}'. "
                    + "Falling back to console feedback.", rootCause(e), GpioHost.GPIO_GROUP);
            return console;
        }
    }

    /**
     * Checks the header's chip is the one Pi4J will drive and fills in the PWM chip and channel of a passive
     * buzzer from the board (a configured value wins).
     *
     * @throws GpioLookupException naming what was found and the key to set
     */
    public static FeedbackSettings resolve(FeedbackSettings settings, GpioHost host) {
        GpioHost.Chip header = host.headerChip(settings.gpioChip());
        // Pi4J 2.8's gpiod provider picks its chip itself; refuse rather than drive another chip's lines
        GpioHost.Chip pi4j = host.pi4jChip().orElse(null);
        if (pi4j == null || !pi4j.name().equals(header.name())) {
            throw new GpioLookupException("the header's chip is " + header.describe() + " but Pi4J's gpiod provider "
                    + "drives the first chip whose label contains '" + GpioHost.PI4J_LABEL_PART + "' ("
                    + (pi4j == null ? "none here" : pi4j.describe()) + "); GPIO feedback works only where they agree");
        }
        if (settings.buzzer() != BuzzerType.PASSIVE) {
            return settings;
        }
        int channel = settings.pwmChannel() == FeedbackSettings.AUTO ? host.defaultPwmChannel() : settings.pwmChannel();
        OptionalInt found = settings.pwmChip() == FeedbackSettings.AUTO ? host.pwmChip(channel)
                : OptionalInt.of(settings.pwmChip());
        if (found.isEmpty()) {
            throw new GpioLookupException("no PWM chip of " + host.board().map(Board::pwmDevice).orElse("this board")
                    + " with channel " + channel + " in " + host.pwmDir()
                    + ": enable hardware PWM on GPIO 18 with 'dtoverlay=pwm-2chan' in /boot/firmware/config.txt "
                    + "and reboot, or set feedback.pwm.chip and feedback.pwm.channel");
        }
        return new FeedbackSettings(settings.type(), settings.led(), settings.greenPin(), settings.redPin(),
                settings.bluePin(), settings.buzzer(), settings.buzzerPin(), found.getAsInt(), channel,
                settings.activeLow(), settings.gpioChip());
    }

    private static String rootCause(Throwable e) {
        Throwable t = e;
        while (t.getCause() != null && t.getCause() != t) {
            t = t.getCause();
        }
        return t == e ? e.toString() : e + ", caused by " + t;
    }
}
