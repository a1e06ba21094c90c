package app.sevenstamp.autopilot.gateway.feedback;

import static app.sevenstamp.autopilot.gateway.config.FeedbackSettings.FeedbackPin.BLUE;
import static app.sevenstamp.autopilot.gateway.config.FeedbackSettings.FeedbackPin.BUZZER;
import static app.sevenstamp.autopilot.gateway.config.FeedbackSettings.FeedbackPin.GREEN;
import static app.sevenstamp.autopilot.gateway.config.FeedbackSettings.FeedbackPin.RED;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;

import app.sevenstamp.autopilot.gateway.config.FeedbackSettings.BuzzerType;
import app.sevenstamp.autopilot.gateway.config.FeedbackSettings.LedType;
import app.sevenstamp.autopilot.gateway.feedback.MockBox.Change;
import com.pi4j.io.gpio.digital.DigitalState;
import com.pi4j.plugin.mock.provider.gpio.digital.MockDigitalOutputProvider;
import com.pi4j.plugin.mock.provider.pwm.MockPwmProvider;
import java.util.EnumSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** The hardware mapping on Pi4J's mock providers: levels, active-low, the RGB channels and the passive buzzer's PWM. */
class GpioOutputsTest {

    @Test
    void everyOutputStartsOffAndEndsOffAfterClose() {
        try (MockBox box = new MockBox(MockBox.PAIR_ACTIVE)) {
            GpioOutputs outputs = box.outputs();
            assertEquals(DigitalState.LOW, box.level(GREEN));
            assertEquals(DigitalState.LOW, box.level(RED));
            assertEquals(DigitalState.LOW, box.level(BUZZER));
            outputs.show(Light.AMBER, 2700);
            assertEquals(EnumSet.of(GREEN, RED, BUZZER), box.on());
            outputs.close();
            assertEquals(DigitalState.LOW, box.level(GREEN));
            assertEquals(DigitalState.LOW, box.level(RED));
            assertEquals(DigitalState.LOW, box.level(BUZZER));
            assertEquals(0, box.context.registry().all().size(), "every output was released");
        }
    }

    @Test
    void activeLowOutputsAreDrivenLowToSwitchThemOnOnlyWhereConfigured() {
        try (MockBox box = new MockBox(MockBox.settings(LedType.PAIR, BuzzerType.ACTIVE, EnumSet.of(RED, BUZZER)))) {
            GpioOutputs outputs = box.outputs();
            assertEquals(DigitalState.LOW, box.level(GREEN), "green is active-high: off is low");
            assertEquals(DigitalState.HIGH, box.level(RED), "red is active-low: off at start means high");
            assertEquals(DigitalState.HIGH, box.level(BUZZER));
            PatternPlayer player = new PatternPlayer(outputs);
            assertEquals(List.of(
                    new Change(0, EnumSet.of(RED, BUZZER)),
                    new Change(700, EnumSet.of(RED)),
                    new Change(1200, Set.of())), box.timeline(player, Patterns.forSignal(Signal.REJECTED), 2000));
            outputs.show(Light.RED, 880);
            assertEquals(DigitalState.LOW, box.level(RED));
            assertEquals(DigitalState.LOW, box.level(BUZZER));
            assertEquals(DigitalState.LOW, box.level(GREEN));
            outputs.close();
            assertEquals(DigitalState.HIGH, box.level(RED), "off after close is high for an active-low output");
            assertEquals(DigitalState.HIGH, box.level(BUZZER));
            assertEquals(DigitalState.LOW, box.level(GREEN));
        }
    }

    @Test
    void rgbMapsEachColourToItsChannels() {
        try (MockBox box = new MockBox(MockBox.settings(LedType.RGB, BuzzerType.NONE, Set.of()))) {
            GpioOutputs outputs = box.outputs();
            outputs.show(Light.GREEN, 0);
            assertEquals(EnumSet.of(GREEN), box.on());
            outputs.show(Light.RED, 0);
            assertEquals(EnumSet.of(RED), box.on());
            outputs.show(Light.AMBER, 0);
            assertEquals(EnumSet.of(RED, GREEN), box.on());
            outputs.show(Light.BLUE, 2700);
            assertEquals(EnumSet.of(BLUE), box.on(), "no buzzer configured: a tone changes nothing");
            outputs.show(Light.OFF, 0);
            assertEquals(Set.of(), box.on());
            outputs.close();
        }
    }

    @Test
    void aPairShowsBlueAsAmber() {
        try (MockBox box = new MockBox(MockBox.PAIR_ACTIVE)) {
            GpioOutputs outputs = box.outputs();
            outputs.show(Light.BLUE, 0);
            assertEquals(EnumSet.of(RED, GREEN), box.on());
            outputs.close();
        }
    }

    @Test
    void passiveBuzzerPlaysEachToneAsASquareWaveOnItsPwmChannel() {
        try (MockBox box = new MockBox(MockBox.RGB_PASSIVE)) {
            GpioOutputs outputs = box.outputs();
            assertEquals(MockBox.PWM_CHANNEL, box.pwm().address());
            assertFalse(box.pwm().isOn(), "silent at start");
            PatternPlayer player = new PatternPlayer(outputs);
            assertEquals(List.of(
                    new Change(0, EnumSet.of(GREEN), 1760),
                    new Change(80, Set.of(), 0),
                    new Change(120, EnumSet.of(GREEN), 2217),
                    new Change(200, Set.of(), 0),
                    new Change(240, EnumSet.of(GREEN), 2637),
                    new Change(320, Set.of(), 0),
                    new Change(360, EnumSet.of(GREEN), 3520),
                    new Change(760, EnumSet.of(GREEN), 0),
                    new Change(1400, Set.of(), 0)), box.timeline(player, Patterns.forSignal(Signal.REWARD_DUE), 2000));
            assertEquals(List.of(
                    new Change(0, EnumSet.of(RED, GREEN), 1400),
                    new Change(250, EnumSet.of(RED, GREEN), 0),
                    new Change(400, EnumSet.of(RED, GREEN), 1000),
                    new Change(650, EnumSet.of(RED, GREEN), 0),
                    new Change(1000, Set.of(), 0)), box.timeline(player, Patterns.forSignal(Signal.TOO_SOON), 2000),
                    "too soon falls in pitch");
            outputs.show(Light.RED, 880);
            assertEquals(880, box.pwm().frequency());
            assertEquals(GpioOutputs.DUTY_PERCENT, box.pwm().dutyCycle(), 0.001f);
            outputs.close();
            assertFalse(box.pwm().isOn(), "silent after close");
            assertEquals(Set.of(), box.on());
        }
    }

    @Test
    void aPassiveBuzzerNeedsAResolvedChannel() {
        try (MockBox box = new MockBox(new app.sevenstamp.autopilot.gateway.config.FeedbackSettings(
                app.sevenstamp.autopilot.gateway.config.FeedbackSettings.FeedbackType.GPIO, LedType.PAIR, 17, 27, 23,
                BuzzerType.PASSIVE, 22, 0, -1, Set.of(), app.sevenstamp.autopilot.gateway.config.FeedbackSettings.AUTO_CHIP))) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> new GpioOutputs(box.context,
                    MockDigitalOutputProvider.ID, MockPwmProvider.ID, box.settings));
            assertEquals("the PWM channel must be resolved before the outputs are created", e.getMessage());
            assertEquals(0, box.context.registry().all().size(), "the LEDs created before the failure were released");
        }
    }
}
