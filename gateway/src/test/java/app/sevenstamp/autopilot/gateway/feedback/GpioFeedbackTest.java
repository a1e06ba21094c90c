package app.sevenstamp.autopilot.gateway.feedback;

import static app.sevenstamp.autopilot.gateway.feedback.Output.BUZZER;
import static app.sevenstamp.autopilot.gateway.feedback.Output.GREEN;
import static app.sevenstamp.autopilot.gateway.feedback.Output.RED;
import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;

import app.sevenstamp.autopilot.gateway.Ticker;
import app.sevenstamp.autopilot.gateway.config.GatewayConfig.FeedbackSettings;
import app.sevenstamp.autopilot.gateway.config.GatewayConfig.FeedbackType;
import com.pi4j.Pi4J;
import com.pi4j.context.Context;
import com.pi4j.io.gpio.digital.DigitalOutput;
import com.pi4j.io.gpio.digital.DigitalState;
import com.pi4j.plugin.mock.provider.gpio.digital.MockDigitalOutputProvider;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** Pi4J's mock digital outputs stand in for the Pi's GPIO; time is virtual except where a thread is under test. */
class GpioFeedbackTest {
    private static final long MS = 1_000_000L;
    private static final FeedbackSettings PINS = new FeedbackSettings(FeedbackType.GPIO, 17, 27, 22, false);

    private Context context;

    @BeforeEach
    void mockGpio() {
        context = Pi4J.newContextBuilder().noAutoDetect().add(MockDigitalOutputProvider.newInstance()).build();
    }

    @AfterEach
    void shutdown() {
        context.shutdown();
    }

    /** Kept after first use: closing the feedback removes the outputs from Pi4J's registry. */
    private final Map<Integer, DigitalOutput> pins = new HashMap<>();

    private DigitalState pin(int bcm) {
        return pins.computeIfAbsent(bcm, b -> context.registry().allByType(DigitalOutput.class).values().stream()
                .filter(o -> o.address().intValue() == b).findFirst().orElseThrow()).state();
    }

    /** Which outputs are on, read back from the mock pins. */
    private Set<Output> on(boolean activeLow) {
        DigitalState onLevel = activeLow ? DigitalState.LOW : DigitalState.HIGH;
        EnumSet<Output> on = EnumSet.noneOf(Output.class);
        if (pin(17) == onLevel) {
            on.add(GREEN);
        }
        if (pin(27) == onLevel) {
            on.add(RED);
        }
        if (pin(22) == onLevel) {
            on.add(BUZZER);
        }
        return on;
    }

    record Change(long atMs, Set<Output> on) {
    }

    /** Plays a pattern in 1 ms steps of virtual time and returns when the outputs changed. */
    private List<Change> timeline(PatternPlayer player, Pattern pattern, long untilMs) {
        List<Change> changes = new ArrayList<>();
        player.start(pattern, 0);
        Set<Output> last = on(false);
        changes.add(new Change(0, last));
        long due = player.advance(0);
        for (long t = 1; t <= untilMs; t++) {
            if (t * MS >= due) {
                due = player.advance(t * MS);
            }
            Set<Output> now = on(false);
            if (!now.equals(last)) {
                changes.add(new Change(t, now));
                last = now;
            }
        }
        return changes;
    }

    @Test
    void acceptedIsGreenWithOneShortBeep() {
        PatternPlayer player = new PatternPlayer(new GpioOutputs(context, MockDigitalOutputProvider.ID, 17, 27, 22, false));
        assertEquals(List.of(
                        new Change(0, Set.of(GREEN, BUZZER)),
                        new Change(80, Set.of(GREEN)),
                        new Change(150, Set.of())),
                timeline(player, Patterns.forSignal(Signal.ACCEPTED), 1000));
    }

    @Test
    void offlineIsGreenWithTwoShortBeeps() {
        PatternPlayer player = new PatternPlayer(new GpioOutputs(context, MockDigitalOutputProvider.ID, 17, 27, 22, false));
        assertEquals(List.of(
                        new Change(0, Set.of(GREEN, BUZZER)),
                        new Change(40, Set.of(GREEN)),
                        new Change(90, Set.of(GREEN, BUZZER)),
                        new Change(130, Set.of(GREEN)),
                        new Change(150, Set.of())),
                timeline(player, Patterns.forSignal(Signal.ACCEPTED_OFFLINE), 1000));
    }

    @Test
    void rejectedIsRedWithOneLongBeep() {
        PatternPlayer player = new PatternPlayer(new GpioOutputs(context, MockDigitalOutputProvider.ID, 17, 27, 22, false));
        assertEquals(List.of(
                        new Change(0, Set.of(RED, BUZZER)),
                        new Change(400, Set.of())),
                timeline(player, Patterns.forSignal(Signal.REJECTED), 1000));
    }

    @Test
    void rewardDueBlinksGreenThreeTimesWithThreeBeeps() {
        PatternPlayer player = new PatternPlayer(new GpioOutputs(context, MockDigitalOutputProvider.ID, 17, 27, 22, false));
        assertEquals(List.of(
                        new Change(0, Set.of(GREEN, BUZZER)),
                        new Change(120, Set.of()),
                        new Change(240, Set.of(GREEN, BUZZER)),
                        new Change(360, Set.of()),
                        new Change(480, Set.of(GREEN, BUZZER)),
                        new Change(600, Set.of())),
                timeline(player, Patterns.forSignal(Signal.REWARD_DUE), 2000));
    }

    @Test
    void aLateAdvanceSkipsStepsWithoutDrift() {
        PatternPlayer player = new PatternPlayer(new GpioOutputs(context, MockDigitalOutputProvider.ID, 17, 27, 22, false));
        player.start(Patterns.forSignal(Signal.REWARD_DUE), 0);
        assertEquals(360 * MS, player.advance(250 * MS), "at 250 ms the second blink is on until 360 ms");
        assertEquals(Set.of(GREEN, BUZZER), on(false));
    }

    @Test
    void aNewSignalPreemptsThePatternThatIsPlaying() {
        PatternPlayer player = new PatternPlayer(new GpioOutputs(context, MockDigitalOutputProvider.ID, 17, 27, 22, false));
        player.start(Patterns.forSignal(Signal.REWARD_DUE), 0);
        player.advance(100 * MS);
        assertEquals(Set.of(GREEN, BUZZER), on(false));
        player.start(Patterns.forSignal(Signal.REJECTED), 130 * MS);
        assertEquals(Set.of(RED, BUZZER), on(false), "green is off at once, red on");
        assertEquals(530 * MS, player.advance(400 * MS));
        player.advance(530 * MS);
        assertEquals(Set.of(), on(false));
        assertEquals(PatternPlayer.IDLE, player.advance(10_000 * MS), "the reward pattern does not come back");
    }

    @Test
    void activeLowDrivesOutputsLowToSwitchThemOn() {
        PatternPlayer player = new PatternPlayer(new GpioOutputs(context, MockDigitalOutputProvider.ID, 17, 27, 22, true));
        assertEquals(DigitalState.HIGH, pin(17), "off at start means high");
        player.start(Patterns.forSignal(Signal.REJECTED), 0);
        assertEquals(Set.of(RED, BUZZER), on(true));
        assertEquals(DigitalState.HIGH, pin(17));
        player.advance(400 * MS);
        assertEquals(DigitalState.HIGH, pin(27));
    }

    @Test
    void feedbackThreadPlaysAPatternToTheEndAndSwitchesOff() {
        GpioFeedback feedback = new GpioFeedback(context, MockDigitalOutputProvider.ID, PINS, Ticker.SYSTEM);
        try {
            feedback.signal(Signal.REJECTED, "reason=MALFORMED");
            await().atMost(Duration.ofSeconds(2)).until(() -> on(false).equals(Set.of(RED, BUZZER)));
            await().atMost(Duration.ofSeconds(2)).until(() -> on(false).isEmpty());
        } finally {
            feedback.close();
        }
    }

    @Test
    void closeSwitchesEverythingOffEvenMidPattern() {
        GpioFeedback feedback = new GpioFeedback(context, MockDigitalOutputProvider.ID, PINS, Ticker.SYSTEM);
        feedback.signal(Signal.STORAGE_FAULT, "");
        await().atMost(Duration.ofSeconds(2)).until(() -> on(false).contains(RED));
        feedback.close();
        assertEquals(DigitalState.LOW, pin(17));
        assertEquals(DigitalState.LOW, pin(27));
        assertEquals(DigitalState.LOW, pin(22));
        feedback.signal(Signal.ACCEPTED, "after close");
        assertEquals(Set.of(), on(false), "signals after close are ignored");
    }

    @Test
    void gpioThatCannotBeOpenedFallsBackToTheConsole() {
        // this machine has no /dev/gpiochip: exactly the "not a Pi" case
        ConsoleFeedback console = new ConsoleFeedback(
                new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8), false);
        Feedback chosen = Feedbacks.create(PINS, Ticker.SYSTEM, console);
        try {
            assertSame(console, chosen);
        } finally {
            chosen.close();
        }
    }
}
