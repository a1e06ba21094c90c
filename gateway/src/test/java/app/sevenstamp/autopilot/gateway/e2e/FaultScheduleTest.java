package app.sevenstamp.autopilot.gateway.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import app.sevenstamp.autopilot.gateway.e2e.FaultSchedule.Kind;
import app.sevenstamp.autopilot.gateway.e2e.FaultSchedule.Step;
import java.time.Duration;
import java.util.EnumSet;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** The generator alone: what every schedule promises, and what the CI set of {@link FaultScheduleIT} covers. */
class FaultScheduleTest {
    private static final Duration THREE_MINUTES = Duration.ofMinutes(3);

    @Test
    void aSeedGivesTheSameScheduleEveryTime() {
        assertEquals(FaultSchedule.generate(1234, THREE_MINUTES), FaultSchedule.generate(1234, THREE_MINUTES));
        assertNotEquals(FaultSchedule.generate(1234, THREE_MINUTES).steps(), FaultSchedule.generate(1235, THREE_MINUTES).steps());
    }

    @Test
    void everyScheduleIdlesBeyondSixtySecondsThenScansAndKillsTheGatewayOrTheSink() {
        for (long seed = 0; seed < 500; seed++) {
            FaultSchedule s = FaultSchedule.generate(seed, Duration.ofSeconds(30));
            assertTrue(s.longIdleThenKill(Kind.KILL_GATEWAY) || s.longIdleThenKill(Kind.KILL_SINK), "seed " + seed + ": " + s.steps());
        }
    }

    @Test
    void whatIsTakenDownComesBackAndTheDiskIsFilledOnlyWhenItIsSmall() {
        for (long seed = 0; seed < 500; seed++) {
            FaultSchedule s = FaultSchedule.generate(seed, Duration.ofMinutes(10));
            boolean brokerUp = true;
            boolean sinkUp = true;
            boolean diskFull = false;
            for (Step step : s.steps()) {
                if (step.kind() == Kind.KILL_SINK || step.kind() == Kind.RESTART_SINK || step.kind() == Kind.SINK_DOWN) {
                    assertTrue(sinkUp, "seed " + seed + ": " + step + " while the sink is down");
                }
                switch (step.kind()) {
                    case BROKER_DOWN -> brokerUp = false;
                    case BROKER_UP -> brokerUp = true;
                    case SINK_DOWN -> sinkUp = false;
                    case SINK_UP -> sinkUp = true;
                    case FILL_DISK -> diskFull = true;
                    case FREE_DISK -> diskFull = false;
                    default -> { }
                }
                if (diskFull) {
                    assertTrue(step.kind() == Kind.FILL_DISK || step.kind() == Kind.BURST || step.kind() == Kind.IDLE,
                            "seed " + seed + ": " + step + " while the disk is full");
                }
            }
            assertTrue(brokerUp && sinkUp && !diskFull, "seed " + seed + " ends with a part down: " + s.steps());
            assertTrue(s.smallDisk() || !s.kinds().contains(Kind.FILL_DISK), "seed " + seed);
            assertEquals(Kind.BURST, s.steps().get(s.steps().size() - 1).kind(), "the last stamps go through parts that are up");
        }
    }

    @Test
    void idlePeriodsFallOnBothSidesOfEveryTimer() {
        Set<String> bands = new java.util.TreeSet<>();
        for (long seed = 0; seed < 50; seed++) {
            for (Step step : FaultSchedule.generate(seed, Duration.ofMinutes(10)).steps()) {
                if (step.kind() == Kind.IDLE) {
                    bands.add(band(step.time()));
                }
            }
        }
        assertEquals(Set.of("<30s", "30-45s", "45-60s", ">60s"), bands);
    }

    @Test
    void theCiSetHoldsEveryKindOfStepAndTheLongIdleBeforeAKillOfEachSide() {
        Set<Kind> kinds = EnumSet.noneOf(Kind.class);
        boolean gateway = false;
        boolean sink = false;
        Set<String> bands = new java.util.TreeSet<>();
        for (long seed : FaultScheduleIT.CI_SEEDS) {
            FaultSchedule s = FaultScheduleIT.schedule(seed, FaultScheduleIT.CI_MINUTES);
            kinds.addAll(s.kinds());
            gateway |= s.longIdleThenKill(Kind.KILL_GATEWAY);
            sink |= s.longIdleThenKill(Kind.KILL_SINK);
            s.steps().stream().filter(st -> st.kind() == Kind.IDLE).forEach(st -> bands.add(band(st.time())));
        }
        assertEquals(EnumSet.allOf(Kind.class), kinds, "pick CI seeds that cover every kind of step");
        assertTrue(gateway, "a CI schedule idles beyond 60 s, scans and kills the gateway");
        assertTrue(sink, "a CI schedule idles beyond 60 s, scans and kills the sink");
        assertTrue(bands.contains("<30s") && bands.contains(">60s"), "idle bands of the CI set: " + bands);
    }

    @Test
    void stepsReadAsWhatIsDone() {
        assertEquals("idle 61.5 s", Step.idle(Duration.ofMillis(61_500)).toString());
        assertEquals("gateway wall clock jumps -10m00s", new Step(Kind.CLOCK_JUMP_GATEWAY, Duration.ofSeconds(-600), 0, 0, false).toString());
        assertEquals("sink wall clock jumps +2h05m30s", new Step(Kind.CLOCK_JUMP_SINK, Duration.ofSeconds(7530), 0, 0, false).toString());
        assertEquals("sink wall clock jumps +45s", new Step(Kind.CLOCK_JUMP_SINK, Duration.ofSeconds(45), 0, 0, false).toString());
        assertEquals("burst of 40 scan(s), kill -9 gateway after 7 answers, start it again",
                new Step(Kind.KILL_GATEWAY_IN_BURST, Duration.ZERO, 40, 7, false).toString());
    }

    private static String band(Duration idle) {
        long s = idle.toMillis();
        return s < 30_000 ? "<30s" : s < 45_000 ? "30-45s" : s < 60_000 ? "45-60s" : ">60s";
    }
}
