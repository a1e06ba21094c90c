package app.sevenstamp.autopilot.gateway.e2e;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.List;
import java.util.Locale;
import java.util.stream.Stream;
import org.awaitility.core.ConditionTimeoutException;
import org.junit.jupiter.api.io.CleanupMode;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.api.parallel.Execution;
import org.junit.jupiter.api.parallel.ExecutionMode;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Randomized fault schedules ({@link FaultSchedule}) against the real jars, Mosquitto and real files
 * ({@link FaultRig}), judged by an independent checker ({@link StampAudit}): every stamp the gateway
 * confirmed, in any of its runs, is counted by the sink exactly once, and the sink misses no sequence
 * number of the device.
 *
 * <p>Without properties this is the CI set: the schedules of {@link #CI_SEEDS}, about 2.5 minutes
 * each. {@code -Dfault.seed=N} runs one seed (a replay), {@code -Dfault.minutes=M} sets the length and,
 * without a seed, draws a random one ({@code scripts/soak}). Every run prints its seed, its schedule and
 * each step as it runs; a failure names the seed, the command that replays it and the folder with the
 * logs, which is kept.
 */
@Execution(ExecutionMode.CONCURRENT) // mostly waiting out idle periods: runs beside the other ITs (pom.xml, failsafe)
class FaultScheduleIT {
    /**
     * Fixed, so that CI is repeatable; chosen so that together they hold every kind of step, an idle period
     * beyond 60 s followed by scans and a kill -9 of the gateway, and the same for the sink
     * ({@link FaultScheduleTest} checks this, so a change to the generator cannot quietly drop a case).
     */
    static final List<Long> CI_SEEDS = List.of(5L, 3799L);
    static final double CI_MINUTES = 2.5;
    /** Nothing changed at the sink for longer than its reconnect backoff (60 s) and the gateway's ack timeout (30 s). */
    private static final Duration QUIET = Duration.ofSeconds(70);
    private static final Duration DRAIN_LIMIT = Duration.ofMinutes(4);
    /** The verdict must hold this long: a late redelivery counted twice shows up in it. */
    private static final Duration STEADY = Duration.ofSeconds(5);

    @TempDir(cleanup = CleanupMode.ON_SUCCESS)
    Path dir;

    static Stream<Arguments> schedules() {
        String seed = System.getProperty("fault.seed");
        String minutes = System.getProperty("fault.minutes");
        double length = minutes == null || minutes.isBlank() ? CI_MINUTES : Double.parseDouble(minutes);
        if (seed != null && !seed.isBlank()) {
            return Stream.of(Arguments.of(Long.parseLong(seed.trim()), length));
        }
        if (minutes != null && !minutes.isBlank()) {
            return Stream.of(Arguments.of(new SecureRandom().nextLong(), length));
        }
        return CI_SEEDS.stream().map(s -> Arguments.of(s, CI_MINUTES));
    }

    static FaultSchedule schedule(long seed, double minutes) {
        return FaultSchedule.generate(seed, Duration.ofMillis((long) (minutes * 60_000)));
    }

    @Execution(ExecutionMode.SAME_THREAD) // the seeds one after the other: two rigs at once would double the load
    @ParameterizedTest(name = "seed {0}, {1} min")
    @MethodSource("schedules")
    void everyConfirmedStampIsCountedOnceWhateverTheSchedule(long seed, double minutes) throws Exception {
        FaultSchedule schedule = schedule(seed, minutes);
        String replay = "-Dfault.seed=" + seed + " -Dfault.minutes=" + minutes + " (scripts/soak " + minutes + " " + seed + ")";
        Printer out = new Printer(seed);
        out.say("fault schedule seed=" + seed + ", about " + minutes + " min, " + schedule.steps().size() + " steps"
                + (schedule.smallDisk() ? ", outbox on a 256 MB tmpfs" : ", outbox on disk") + "; replay: " + replay);
        for (int i = 0; i < schedule.steps().size(); i++) {
            out.say("  plan " + (i + 1) + ": " + schedule.steps().get(i));
        }
        try (FaultRig rig = FaultRig.start(dir, schedule.smallDisk(), out::say)) {
            for (int i = 0; i < schedule.steps().size(); i++) {
                FaultSchedule.Step step = schedule.steps().get(i);
                out.say("step " + (i + 1) + "/" + schedule.steps().size() + ": " + step);
                try {
                    rig.run(step);
                } catch (Exception | AssertionError e) {
                    throw new AssertionError("seed " + seed + ", step " + (i + 1) + " (" + step + ") failed: " + e.getMessage()
                            + "\nreplay: " + replay + "\nlogs in " + rig.dir() + "\n" + rig.logExcerpt(40), e);
                }
            }
            out.say("schedule done; waiting until the sink has drained (or nothing changes for " + QUIET.toSeconds() + " s)");
            StampAudit.Verdict verdict = drainAndAudit(rig);
            out.say("checker: " + verdict.report());
            assertTrue(verdict.ok(), () -> "seed " + seed + ": the sink does not count the confirmed stamps exactly once\n"
                    + verdict.report() + "replay: " + replay + "\nlogs in " + rig.dir() + "\n" + rig.logExcerpt(40));
        }
    }

    /** Waits until the verdict is clean and stays so, or until nothing changes at the sink any more. */
    private static StampAudit.Verdict drainAndAudit(FaultRig rig) {
        List<StampAudit.Confirmation> confirmed = rig.confirmations();
        Drain drain = new Drain(rig, confirmed);
        try {
            await().atMost(DRAIN_LIMIT).pollInterval(Duration.ofMillis(500)).until(drain::settled);
        } catch (ConditionTimeoutException e) {
            return drain.verdict(); // still moving after the limit: judge what is there
        }
        if (drain.verdict().ok()) {
            try {
                await().during(STEADY).atMost(STEADY.multipliedBy(3)).pollInterval(Duration.ofMillis(500))
                        .until(() -> drain.settled() && drain.verdict().ok());
            } catch (ConditionTimeoutException e) {
                // it changed: the verdict as it is now says how
            }
        }
        return drain.verdict();
    }

    /** The drain's state between polls: the last verdict and when the sink's numbers last moved. */
    private static final class Drain {
        private final FaultRig rig;
        private final List<StampAudit.Confirmation> confirmed;
        private StampAudit.Verdict verdict;
        private IOException unanswered;
        private List<Object> last;
        private long lastChange = System.nanoTime();

        Drain(FaultRig rig, List<StampAudit.Confirmation> confirmed) {
            this.rig = rig;
            this.confirmed = confirmed;
        }

        boolean settled() throws InterruptedException {
            StampAudit.SinkView view;
            try {
                view = rig.sinkView();
            } catch (IOException e) {
                unanswered = e;
                return false; // the sink is busy: ask again
            }
            verdict = StampAudit.audit(confirmed, view, rig.gatewayKills());
            List<Object> now = List.of(view.total(), view.lastSeq(), view.gaps());
            if (!now.equals(last)) {
                last = now;
                lastChange = System.nanoTime();
            }
            return verdict.ok() || System.nanoTime() - lastChange > QUIET.toNanos();
        }

        StampAudit.Verdict verdict() {
            if (verdict == null) {
                throw new AssertionError("the sink never answered its HTTP API during the drain", unanswered);
            }
            return verdict;
        }
    }

    /** Lines on stdout with the seed and the time since the start, so that interleaved runs stay readable. */
    private static final class Printer {
        private final long seed;
        private final long start = System.nanoTime();

        Printer(long seed) {
            this.seed = seed;
        }

        void say(String line) {
            double seconds = (System.nanoTime() - start) / 1e9;
            System.out.println(String.format(Locale.ROOT, "[fault seed=%d +%.1fs] %s", seed, seconds, line));
            System.out.flush();
        }
    }
}
