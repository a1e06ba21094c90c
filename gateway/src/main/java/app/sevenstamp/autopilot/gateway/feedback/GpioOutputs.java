package app.sevenstamp.autopilot.gateway.feedback;

import app.sevenstamp.autopilot.gateway.config.FeedbackSettings.BuzzerType;
import app.sevenstamp.autopilot.gateway.config.FeedbackSettings.FeedbackPin;
import app.sevenstamp.autopilot.gateway.config.FeedbackSettings;
import app.sevenstamp.autopilot.gateway.config.FeedbackSettings.LedType;
import com.pi4j.context.Context;
import com.pi4j.io.IO;
import com.pi4j.io.gpio.digital.DigitalOutput;
import com.pi4j.io.gpio.digital.DigitalState;
import com.pi4j.io.pwm.Pwm;
import com.pi4j.io.pwm.PwmType;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import org.tinylog.Logger;

/**
 * The LEDs (a green + red pair, or the three channels of a common-cathode RGB LED) and the buzzer (an
 * active one on a digital output, a passive one on a PWM channel, or none) of a Pi4J context, each created
 * off: the safe state at boot. An active-low output is driven low to switch it on (a LED wired to 3.3 V, a
 * PNP stage, most relay boards). Pi4J also drives every output to its off level when it shuts the output
 * down.
 *
 * <p>Not thread-safe: the feedback thread writes, {@link #close} runs after that thread has stopped.
 */
final class GpioOutputs implements Outputs {
    /** A square wave: the loudest a passive buzzer gets from one pin. */
    static final int DUTY_PERCENT = 50;

    private final Context context;
    private final LedType led;
    private final Map<FeedbackPin, DigitalOutput> pins = new EnumMap<>(FeedbackPin.class);
    private final Map<FeedbackPin, Boolean> activeLow = new EnumMap<>(FeedbackPin.class);
    private final Pwm pwm;
    private final List<IO<?, ?, ?>> created = new ArrayList<>();
    private int playingHz;
    private boolean closed;

    /**
     * @param digitalProvider the Pi4J provider for LEDs and an active buzzer, named explicitly
     *                        ({@code gpiod-digital-output} on a Pi)
     * @param pwmProvider     the Pi4J provider for a passive buzzer ({@code linuxfs-pwm} on a Pi)
     * @param settings        with {@code pwmChannel} resolved (not AUTO) when the buzzer is passive
     */
    public GpioOutputs(Context context, String digitalProvider, String pwmProvider, FeedbackSettings settings) {
        this.context = Objects.requireNonNull(context, "context");
        this.led = settings.led();
        try {
            digital(digitalProvider, settings, FeedbackPin.GREEN, settings.greenPin(), "green LED");
            digital(digitalProvider, settings, FeedbackPin.RED, settings.redPin(), "red LED");
            if (led == LedType.RGB) {
                digital(digitalProvider, settings, FeedbackPin.BLUE, settings.bluePin(), "blue LED");
            }
            if (settings.buzzer() == BuzzerType.ACTIVE) {
                digital(digitalProvider, settings, FeedbackPin.BUZZER, settings.buzzerPin(), "active buzzer");
            }
            pwm = settings.buzzer() == BuzzerType.PASSIVE ? passive(pwmProvider, settings.pwmChannel()) : null;
        } catch (RuntimeException e) {
            release();
            throw e;
        }
    }

    private void digital(String provider, FeedbackSettings settings, FeedbackPin which, int bcm, String name) {
        boolean low = settings.activeLow(which);
        DigitalState off = low ? DigitalState.HIGH : DigitalState.LOW;
        DigitalOutput out = context.create(DigitalOutput.newConfigBuilder(context)
                .id("feedback-" + which.name().toLowerCase(java.util.Locale.ROOT))
                .name(name)
                .address(bcm)
                .initial(off)
                .shutdown(off)
                .provider(provider));
        created.add(out);
        pins.put(which, out);
        activeLow.put(which, low);
    }

    private Pwm passive(String provider, int channel) {
        if (channel < 0) {
            throw new IllegalArgumentException("the PWM channel must be resolved before the outputs are created");
        }
        Pwm out = context.create(Pwm.newConfigBuilder(context)
                .id("feedback-buzzer")
                .name("passive buzzer")
                .address(channel)
                .pwmType(PwmType.HARDWARE)
                .frequency(Patterns.HIGH)
                .initial(0)
                .shutdown(0)
                .provider(provider)
                .build());
        created.add(out);
        out.off();
        return out;
    }

    @Override
    public void show(Light light, int toneHz) {
        Set<FeedbackPin> lit = light.pins(led);
        for (Map.Entry<FeedbackPin, DigitalOutput> pin : pins.entrySet()) {
            if (pin.getKey() == FeedbackPin.BUZZER) {
                set(pin.getKey(), pin.getValue(), toneHz != 0);
            } else {
                set(pin.getKey(), pin.getValue(), lit.contains(pin.getKey()));
            }
        }
        if (pwm != null && toneHz != playingHz) {
            if (toneHz == 0) {
                pwm.off();
            } else {
                pwm.on(DUTY_PERCENT, toneHz);
            }
            playingHz = toneHz;
        }
    }

    private void set(FeedbackPin which, DigitalOutput out, boolean on) {
        DigitalState want = on != activeLow.get(which) ? DigitalState.HIGH : DigitalState.LOW;
        if (out.state() != want) {
            out.state(want);
        }
    }

    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        try {
            show(Light.OFF, 0);
        } catch (RuntimeException e) {
            Logger.warn("could not switch the feedback outputs off: {}", e.toString());
        }
        release();
    }

    private void release() {
        for (IO<?, ?, ?> io : created) {
            try {
                context.shutdown(io.id());
            } catch (RuntimeException e) {
                Logger.warn("could not release GPIO {}: {}", io.id(), e.toString());
            }
        }
    }
}
