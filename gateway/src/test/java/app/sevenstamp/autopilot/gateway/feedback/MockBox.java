package app.sevenstamp.autopilot.gateway.feedback;

import app.sevenstamp.autopilot.gateway.config.FeedbackSettings.BuzzerType;
import app.sevenstamp.autopilot.gateway.config.FeedbackSettings.FeedbackPin;
import app.sevenstamp.autopilot.gateway.config.FeedbackSettings;
import app.sevenstamp.autopilot.gateway.config.FeedbackSettings.FeedbackType;
import app.sevenstamp.autopilot.gateway.config.FeedbackSettings.LedType;
import com.pi4j.Pi4J;
import com.pi4j.context.Context;
import com.pi4j.io.gpio.digital.DigitalOutput;
import com.pi4j.io.gpio.digital.DigitalState;
import com.pi4j.io.pwm.Pwm;
import com.pi4j.plugin.mock.provider.gpio.digital.MockDigitalOutputProvider;
import com.pi4j.plugin.mock.provider.pwm.MockPwmProvider;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.EnumSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * A counter box made of Pi4J's mock providers: reads back which outputs are on (honouring active-low) and
 * which tone the PWM plays, and steps a {@link PatternPlayer} through virtual time.
 */
final class MockBox implements AutoCloseable {
    static final long MS = 1_000_000L;
    static final int GREEN = 17;
    static final int RED = 27;
    static final int BLUE = 23;
    static final int BUZZER = 22;
    static final int PWM_CHANNEL = 2;

    static final FeedbackSettings PAIR_ACTIVE = settings(LedType.PAIR, BuzzerType.ACTIVE, Set.of());
    static final FeedbackSettings RGB_PASSIVE = settings(LedType.RGB, BuzzerType.PASSIVE, Set.of());

    static FeedbackSettings settings(LedType led, BuzzerType buzzer, Set<FeedbackPin> activeLow) {
        return new FeedbackSettings(FeedbackType.GPIO, led, GREEN, RED, BLUE, buzzer, BUZZER, 0, PWM_CHANNEL, activeLow,
                FeedbackSettings.AUTO_CHIP);
    }

    /** One moment in a timeline: which outputs turned on (BUZZER only for an active buzzer), and the PWM tone. */
    record Change(long atMs, Set<FeedbackPin> on, int hz) {
        Change(long atMs, Set<FeedbackPin> on) {
            this(atMs, on, 0);
        }
    }

    final Context context;
    final FeedbackSettings settings;
    /** Kept after first use: closing the outputs removes them from Pi4J's registry. */
    private final Map<FeedbackPin, DigitalOutput> pins = new EnumMap<>(FeedbackPin.class);
    private Pwm pwm;

    MockBox(FeedbackSettings settings) {
        this.settings = settings;
        this.context = Pi4J.newContextBuilder().noAutoDetect()
                .add(MockDigitalOutputProvider.newInstance())
                .add(MockPwmProvider.newInstance())
                .build();
    }

    GpioOutputs outputs() {
        GpioOutputs outputs = new GpioOutputs(context, MockDigitalOutputProvider.ID, MockPwmProvider.ID, settings);
        remember();
        return outputs;
    }

    GpioFeedback feedback(app.sevenstamp.autopilot.gateway.support.Ticker ticker) {
        GpioFeedback feedback = GpioFeedback.open(context, MockDigitalOutputProvider.ID, MockPwmProvider.ID, settings,
                ticker);
        remember();
        return feedback;
    }

    private void remember() {
        for (DigitalOutput out : context.registry().allByType(DigitalOutput.class).values()) {
            int address = out.address().intValue();
            FeedbackPin which = address == GREEN ? FeedbackPin.GREEN : address == RED ? FeedbackPin.RED
                    : address == BLUE ? FeedbackPin.BLUE : FeedbackPin.BUZZER;
            pins.put(which, out);
        }
        pwm = context.registry().allByType(Pwm.class).values().stream().findFirst().orElse(null);
    }

    DigitalOutput pin(FeedbackPin which) {
        return pins.get(which);
    }

    Pwm pwm() {
        return pwm;
    }

    DigitalState level(FeedbackPin which) {
        return pins.get(which).state();
    }

    Set<FeedbackPin> on() {
        EnumSet<FeedbackPin> on = EnumSet.noneOf(FeedbackPin.class);
        for (Map.Entry<FeedbackPin, DigitalOutput> pin : pins.entrySet()) {
            DigitalState onLevel = settings.activeLow(pin.getKey()) ? DigitalState.LOW : DigitalState.HIGH;
            if (pin.getValue().state() == onLevel) {
                on.add(pin.getKey());
            }
        }
        return on;
    }

    int tone() {
        return pwm != null && pwm.isOn() ? pwm.frequency() : 0;
    }

    /** Plays {@code pattern} from 0 in 1 ms steps of virtual time; the changes of the outputs until {@code untilMs}. */
    List<Change> timeline(PatternPlayer player, Pattern pattern, long untilMs) {
        player.start(pattern, 0);
        return run(player, 0, untilMs);
    }

    /** Advances {@code player} whenever it asks to be, from {@code fromMs} to {@code untilMs}; the changes seen. */
    List<Change> run(PatternPlayer player, long fromMs, long untilMs) {
        List<Change> changes = new ArrayList<>();
        long due = player.advance(fromMs * MS);
        Change last = new Change(fromMs, on(), tone());
        changes.add(last);
        for (long t = fromMs + 1; t <= untilMs; t++) {
            if (t * MS >= due) {
                due = player.advance(t * MS);
            }
            Set<FeedbackPin> on = on();
            int tone = tone();
            if (!on.equals(last.on()) || tone != last.hz()) {
                last = new Change(t, on, tone);
                changes.add(last);
            }
        }
        return changes;
    }

    @Override
    public void close() {
        context.shutdown();
    }
}
