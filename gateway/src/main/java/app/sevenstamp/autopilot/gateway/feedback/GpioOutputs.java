package app.sevenstamp.autopilot.gateway.feedback;

import com.pi4j.context.Context;
import com.pi4j.io.gpio.digital.DigitalOutput;
import com.pi4j.io.gpio.digital.DigitalState;
import java.util.EnumMap;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import org.tinylog.Logger;

/**
 * Green LED, red LED and an active buzzer on three digital outputs of a Pi4J context. With
 * {@code activeLow} an output is driven low to switch it on (a LED wired to 3.3 V, most relay boards).
 * Each output starts off and is off again when Pi4J shuts it down.
 */
public final class GpioOutputs implements Outputs {
    private final Context context;
    private final Map<Output, DigitalOutput> pins = new EnumMap<>(Output.class);
    private final DigitalState onLevel;
    private final DigitalState offLevel;

    /** @param providerId the Pi4J provider, named explicitly ({@code gpiod-digital-output} on a Pi) */
    public GpioOutputs(Context context, String providerId, int greenPin, int redPin, int buzzerPin, boolean activeLow) {
        this.context = Objects.requireNonNull(context, "context");
        this.onLevel = activeLow ? DigitalState.LOW : DigitalState.HIGH;
        this.offLevel = activeLow ? DigitalState.HIGH : DigitalState.LOW;
        pins.put(Output.GREEN, create(providerId, "feedback-green", "green LED", greenPin));
        pins.put(Output.RED, create(providerId, "feedback-red", "red LED", redPin));
        pins.put(Output.BUZZER, create(providerId, "feedback-buzzer", "buzzer", buzzerPin));
    }

    private DigitalOutput create(String providerId, String id, String name, int bcm) {
        return context.create(DigitalOutput.newConfigBuilder(context)
                .id(id)
                .name(name)
                .address(bcm)
                .initial(offLevel)
                .shutdown(offLevel)
                .provider(providerId));
    }

    @Override
    public void apply(Set<Output> on) {
        for (Map.Entry<Output, DigitalOutput> pin : pins.entrySet()) {
            DigitalState want = on.contains(pin.getKey()) ? onLevel : offLevel;
            if (pin.getValue().state() != want) {
                pin.getValue().state(want);
            }
        }
    }

    /** The level the output is driven at; for logs and tests. */
    public DigitalState level(Output output) {
        return pins.get(output).state();
    }

    @Override
    public void close() {
        try {
            apply(Set.of());
        } catch (RuntimeException e) {
            Logger.warn("could not switch the feedback outputs off: {}", e.toString());
        }
        for (DigitalOutput pin : pins.values()) {
            try {
                context.shutdown(pin.id());
            } catch (RuntimeException e) {
                Logger.warn("could not release GPIO {}: {}", pin.id(), e.toString());
            }
        }
    }
}
