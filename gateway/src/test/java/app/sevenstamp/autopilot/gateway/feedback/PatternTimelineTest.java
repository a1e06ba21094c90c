package app.sevenstamp.autopilot.gateway.feedback;

import static app.sevenstamp.autopilot.gateway.config.FeedbackSettings.FeedbackPin.BLUE;
import static app.sevenstamp.autopilot.gateway.config.FeedbackSettings.FeedbackPin.BUZZER;
import static app.sevenstamp.autopilot.gateway.config.FeedbackSettings.FeedbackPin.GREEN;
import static app.sevenstamp.autopilot.gateway.config.FeedbackSettings.FeedbackPin.RED;
import static app.sevenstamp.autopilot.gateway.feedback.MockBox.MS;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;

import app.sevenstamp.autopilot.gateway.config.FeedbackSettings.FeedbackPin;
import app.sevenstamp.autopilot.gateway.feedback.MockBox.Change;
import java.time.Duration;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The exact on/off timeline of every pattern on the README's wiring (green + red LED, active buzzer), read back
 * from Pi4J's mock pins while a {@link PatternPlayer} steps through virtual time. A change here is a change of
 * what staff hear: update the README's table with it.
 */
class PatternTimelineTest {
    private static final Set<FeedbackPin> OFF = Set.of();
    private static final Set<FeedbackPin> AMBER = EnumSet.of(GREEN, RED);

    private final MockBox box = new MockBox(MockBox.PAIR_ACTIVE);
    private final PatternPlayer player = new PatternPlayer(box.outputs());

    @AfterEach
    void shutdown() {
        box.close();
    }

    private List<Change> play(Signal signal) {
        return box.timeline(player, Patterns.forSignal(signal), 5000);
    }

    private static Change at(long ms, FeedbackPin... on) {
        return new Change(ms, on.length == 0 ? OFF : EnumSet.of(on[0], on));
    }

    @Test
    void acceptedIsGreenWithOneShortBeep() {
        assertEquals(List.of(
                at(0, GREEN, BUZZER),
                at(120, GREEN),
                at(600)), play(Signal.ACCEPTED));
    }

    @Test
    void acceptedOfflineIsTwoShortBeepsAndGreenTurningAmber() {
        assertEquals(List.of(
                at(0, GREEN, BUZZER),
                at(70, GREEN),
                at(140, GREEN, BUZZER),
                at(210, GREEN),
                at(400, GREEN, RED),
                at(800)), play(Signal.ACCEPTED_OFFLINE));
    }

    @Test
    void rewardDueIsThreeShortBeepsAndALongOneOnGreen() {
        assertEquals(List.of(
                at(0, GREEN, BUZZER),
                at(80),
                at(120, GREEN, BUZZER),
                at(200),
                at(240, GREEN, BUZZER),
                at(320),
                at(360, GREEN, BUZZER),
                at(760, GREEN),
                at(1400)), play(Signal.REWARD_DUE));
    }

    @Test
    void rejectedIsOneLongToneOnRed() {
        assertEquals(List.of(
                at(0, RED, BUZZER),
                at(700, RED),
                at(1200)), play(Signal.REJECTED));
    }

    @Test
    void tooSoonIsTwoMediumTonesOnAmber() {
        assertEquals(List.of(
                at(0, GREEN, RED, BUZZER),
                at(250, GREEN, RED),
                at(400, GREEN, RED, BUZZER),
                at(650, GREEN, RED),
                at(1000)), play(Signal.TOO_SOON));
    }

    @Test
    void scannerLostIsThreeSlowLongTonesWithRedBlinks() {
        assertEquals(List.of(
                at(0, RED, BUZZER),
                at(300),
                at(1000, RED, BUZZER),
                at(1300),
                at(2000, RED, BUZZER),
                at(2300)), play(Signal.SCANNER_LOST));
    }

    @Test
    void storageFaultIsARapidTrillThenRedStays() {
        List<Change> expected = new ArrayList<>();
        for (int i = 0; i < 20; i++) {
            expected.add(i % 2 == 0 ? at(i * 50L, RED, BUZZER) : at(i * 50L, RED));
        }
        expected.add(at(2000));
        assertEquals(expected, play(Signal.STORAGE_FAULT));
    }

    @Test
    void voucherOkIsTwoPairsOfShortBeepsOnGreen() {
        assertEquals(List.of(
                at(0, GREEN, BUZZER),
                at(80, GREEN),
                at(140, GREEN, BUZZER),
                at(220, GREEN),
                at(440, GREEN, BUZZER),
                at(520, GREEN),
                at(580, GREEN, BUZZER),
                at(660, GREEN),
                at(1360)), play(Signal.VOUCHER_OK));
    }

    @Test
    void cannotCheckIsOneLongAndTwoShortTonesOnAmber() {
        assertEquals(List.of(
                at(0, GREEN, RED, BUZZER),
                at(400, GREEN, RED),
                at(550, GREEN, RED, BUZZER),
                at(650, GREEN, RED),
                at(750, GREEN, RED, BUZZER),
                at(850, GREEN, RED),
                at(1500)), play(Signal.CANNOT_CHECK));
    }

    @Test
    void selfTestLightsEachColourThenThreeTones() {
        assertEquals(List.of(
                at(0, GREEN),
                at(250, RED),
                at(500, GREEN, RED),
                at(750, GREEN, RED, BUZZER),
                at(900, GREEN, RED),
                at(950, GREEN, RED, BUZZER),
                at(1100, GREEN, RED),
                at(1150, GREEN, RED, BUZZER),
                at(1300)), box.timeline(player, Patterns.selfTest(), 5000));
    }

    @Test
    void identifyBlinksAtOneHertzWithATickEveryTwoSecondsForSixtySeconds() {
        player.loop(Patterns.identifyCycle(), Patterns.IDENTIFY_LIMIT, 0);
        List<Change> expected = new ArrayList<>();
        for (long cycle = 0; cycle < 60_000; cycle += 2000) {
            expected.add(at(cycle, GREEN, RED, BUZZER));
            expected.add(at(cycle + 40, GREEN, RED));
            expected.add(at(cycle + 500));
            expected.add(at(cycle + 1000, GREEN, RED));
            expected.add(at(cycle + 1500));
        }
        assertEquals(expected, box.run(player, 0, 65_000), "30 cycles, then nothing: identify ends at 60 s");
        assertFalse(player.playing());
        assertEquals(PatternPlayer.IDLE, player.advance(70_000 * MS));
    }

    @Test
    void identifyEndsAtSixtySecondsEvenMidBlink() {
        player.loop(Patterns.identifyCycle(), Duration.ofMillis(60_250), 0);
        List<Change> changes = box.run(player, 59_000, 61_000);
        assertEquals(List.of(at(59_000, GREEN, RED), at(59_500), at(60_000, GREEN, RED, BUZZER), at(60_040, GREEN, RED),
                at(60_250)), changes, "a limit inside a blink cuts it at the limit");
    }

    @Test
    void stopIdentifySwitchesOffAtOnce() {
        player.loop(Patterns.identifyCycle(), Patterns.IDENTIFY_LIMIT, 0);
        box.run(player, 0, 1200);
        assertEquals(AMBER, box.on());
        player.stopLoop(1200 * MS);
        assertEquals(OFF, box.on());
        assertEquals(PatternPlayer.IDLE, player.advance(1300 * MS));
    }

    @Test
    void aScanPlaysOverIdentifyWhichResumesInPhase() {
        player.loop(Patterns.identifyCycle(), Patterns.IDENTIFY_LIMIT, 0);
        box.run(player, 0, 700);
        player.start(Patterns.forSignal(Signal.ACCEPTED), 700 * MS);
        assertEquals(List.of(
                at(700, GREEN, BUZZER),
                at(820, GREEN),
                at(1300, GREEN, RED),
                at(1500),
                at(2000, GREEN, RED, BUZZER),
                at(2040, GREEN, RED)), box.run(player, 700, 2100));
    }

    @Test
    void aNewScanPreemptsThePatternThatIsPlaying() {
        player.start(Patterns.forSignal(Signal.REWARD_DUE), 0);
        box.run(player, 0, 130);
        assertEquals(EnumSet.of(GREEN, BUZZER), box.on());
        player.start(Patterns.forSignal(Signal.REJECTED), 130 * MS);
        assertEquals(EnumSet.of(RED, BUZZER), box.on(), "green is off at once, red on");
        assertEquals(List.of(at(130, RED, BUZZER), at(830, RED), at(1330)), box.run(player, 130, 5000),
                "the reward pattern does not come back");
    }

    @Test
    void aLateAdvanceSkipsStepsWithoutDrift() {
        player.start(Patterns.forSignal(Signal.REWARD_DUE), 0);
        assertEquals(320 * MS, player.advance(250 * MS), "at 250 ms the third beep is on until 320 ms");
        assertEquals(EnumSet.of(GREEN, BUZZER), box.on());
    }

    @Test
    void everyCaseSoundsDifferentOnAnActiveBuzzer() {
        // what an ear gets from a one-pitch buzzer: the lengths of the beeps and of the gaps between them
        Set<List<Long>> rhythms = new HashSet<>();
        List<Pattern> all = new ArrayList<>();
        for (Signal s : Signal.values()) {
            all.add(Patterns.forSignal(s));
        }
        all.add(Patterns.selfTest());
        all.add(Patterns.identifyCycle());
        for (Pattern p : all) {
            List<Long> rhythm = new ArrayList<>();
            boolean sounding = false;
            long length = 0;
            for (Step s : p.steps()) {
                if (s.sounding() != sounding && length > 0) {
                    rhythm.add(sounding ? length : -length);
                    length = 0;
                }
                sounding = s.sounding();
                length += s.duration().toMillis();
            }
            if (sounding) {
                rhythm.add(length);
            }
            assertNotEquals(List.of(), rhythm, p.name() + " makes a sound");
            assertEquals(true, rhythms.add(rhythm), p.name() + " sounds like another pattern: " + rhythm);
        }
    }

    @Test
    void rgbShowsAmberAsRedPlusGreenAndBlueOnItsOwnPin() {
        MockBox rgb = new MockBox(MockBox.settings(app.sevenstamp.autopilot.gateway.config.FeedbackSettings.LedType.RGB,
                app.sevenstamp.autopilot.gateway.config.FeedbackSettings.BuzzerType.ACTIVE, Set.of()));
        try {
            PatternPlayer p = new PatternPlayer(rgb.outputs());
            assertEquals(List.of(
                    at(0, GREEN),
                    at(250, RED),
                    at(500, BLUE),
                    at(750, GREEN, RED, BUZZER),
                    at(900, GREEN, RED),
                    at(950, GREEN, RED, BUZZER),
                    at(1100, GREEN, RED),
                    at(1150, GREEN, RED, BUZZER),
                    at(1300)), rgb.timeline(p, Patterns.selfTest(), 3000));
            p.loop(Patterns.identifyCycle(), Patterns.IDENTIFY_LIMIT, 0);
            assertEquals(EnumSet.of(BLUE, BUZZER), rgb.on(), "identify is blue on an RGB LED");
        } finally {
            rgb.close();
        }
    }
}
