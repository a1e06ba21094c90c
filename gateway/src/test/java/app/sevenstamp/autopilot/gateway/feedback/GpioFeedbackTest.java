package app.sevenstamp.autopilot.gateway.feedback;

import static app.sevenstamp.autopilot.gateway.config.FeedbackSettings.FeedbackPin.BLUE;
import static app.sevenstamp.autopilot.gateway.config.FeedbackSettings.FeedbackPin.BUZZER;
import static app.sevenstamp.autopilot.gateway.config.FeedbackSettings.FeedbackPin.GREEN;
import static app.sevenstamp.autopilot.gateway.config.FeedbackSettings.FeedbackPin.RED;
import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import app.sevenstamp.autopilot.gateway.support.Ticker;
import app.sevenstamp.autopilot.gateway.config.FeedbackSettings.BuzzerType;
import app.sevenstamp.autopilot.gateway.config.FeedbackSettings.LedType;
import com.pi4j.io.gpio.digital.DigitalState;
import java.time.Duration;
import java.util.EnumSet;
import java.util.Set;
import org.junit.jupiter.api.Test;

/**
 * The feedback thread on Pi4J's mock pins, in real time: only what needs a thread is tested here (hand-over,
 * preemption, close); the timelines are in {@link PatternTimelineTest}. Waits are conditions, not timings.
 */
class GpioFeedbackTest {
    private static final Duration WAIT = Duration.ofSeconds(5);

    @Test
    void playsAPatternToTheEndAndSwitchesOff() {
        try (MockBox box = new MockBox(MockBox.PAIR_ACTIVE)) {
            GpioFeedback feedback = box.feedback(Ticker.SYSTEM);
            try {
                feedback.signal(Signal.REJECTED, "reason=MALFORMED");
                await().atMost(WAIT).until(() -> box.on().equals(EnumSet.of(RED, BUZZER)));
                await().atMost(WAIT).until(() -> box.on().isEmpty());
            } finally {
                feedback.close();
            }
        }
    }

    @Test
    void aNewScanPreemptsTheLongPatternThatIsPlaying() {
        try (MockBox box = new MockBox(MockBox.PAIR_ACTIVE)) {
            GpioFeedback feedback = box.feedback(Ticker.SYSTEM);
            try {
                feedback.signal(Signal.SCANNER_LOST, "scanner=/dev/ttyACM0 unplugged");
                await().atMost(WAIT).until(() -> box.on().contains(RED));
                feedback.signal(Signal.ACCEPTED, "seq=1");
                // green is never part of scanner-lost: seeing it without red means the 3 s pattern was cut off
                await().atMost(WAIT).until(() -> box.on().equals(EnumSet.of(GREEN, BUZZER))
                        || box.on().equals(EnumSet.of(GREEN)));
                assertFalse(box.on().contains(RED));
                await().atMost(WAIT).until(() -> box.on().isEmpty());
            } finally {
                feedback.close();
            }
        }
    }

    @Test
    void identifyRunsUntilStoppedAndAScanDoesNotEndIt() {
        try (MockBox box = new MockBox(MockBox.settings(LedType.RGB, BuzzerType.ACTIVE, Set.of()))) {
            GpioFeedback feedback = box.feedback(Ticker.SYSTEM);
            try {
                feedback.identify();
                await().atMost(WAIT).until(() -> box.on().contains(BLUE));
                feedback.signal(Signal.ACCEPTED, "seq=1");
                await().atMost(WAIT).until(() -> box.on().contains(GREEN));
                await().atMost(WAIT).until(() -> box.on().contains(BLUE));
                feedback.stopIdentify();
                await().atMost(WAIT).until(() -> box.on().isEmpty());
            } finally {
                feedback.close();
            }
        }
    }

    @Test
    void closeSwitchesEverythingOffMidPatternAndIgnoresLaterSignals() {
        try (MockBox box = new MockBox(MockBox.PAIR_ACTIVE)) {
            GpioFeedback feedback = box.feedback(Ticker.SYSTEM);
            feedback.signal(Signal.STORAGE_FAULT, "");
            await().atMost(WAIT).until(() -> box.on().contains(RED));
            feedback.close();
            assertEquals(DigitalState.LOW, box.level(GREEN));
            assertEquals(DigitalState.LOW, box.level(RED));
            assertEquals(DigitalState.LOW, box.level(BUZZER));
            feedback.signal(Signal.ACCEPTED, "after close");
            feedback.identify();
            feedback.selfTest();
            assertEquals(Set.of(), box.on(), "signals after close are ignored");
            feedback.close();
        }
    }

    @Test
    void closeLeavesActiveLowOutputsHighAndThePassiveBuzzerSilent() {
        try (MockBox box = new MockBox(MockBox.settings(LedType.RGB, BuzzerType.PASSIVE, EnumSet.of(GREEN, RED, BLUE)))) {
            GpioFeedback feedback = box.feedback(Ticker.SYSTEM);
            feedback.selfTest();
            await().atMost(WAIT).until(() -> box.tone() != 0);
            feedback.close();
            assertEquals(DigitalState.HIGH, box.level(GREEN));
            assertEquals(DigitalState.HIGH, box.level(RED));
            assertEquals(DigitalState.HIGH, box.level(BLUE));
            assertFalse(box.pwm().isOn());
            assertEquals(0, box.context.registry().all().size(), "every output was released");
        }
    }
}
