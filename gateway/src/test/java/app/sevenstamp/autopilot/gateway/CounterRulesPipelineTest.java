package app.sevenstamp.autopilot.gateway;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import app.sevenstamp.autopilot.gateway.feedback.Signal;
import app.sevenstamp.autopilot.gateway.outbox.StoredEvent;
import app.sevenstamp.autopilot.gateway.outbox.Outbox;
import app.sevenstamp.autopilot.gateway.policy.CounterGuard;
import app.sevenstamp.autopilot.gateway.policy.ScanPolicy;
import app.sevenstamp.autopilot.gateway.scan.Frame;
import app.sevenstamp.autopilot.gateway.support.Ticker;
import app.sevenstamp.autopilot.protocol.CounterRules;
import app.sevenstamp.autopilot.protocol.WireCodec;
import app.sevenstamp.autopilot.protocol.testing.MutableClock;
import app.sevenstamp.autopilot.protocol.testing.Vectors;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The counter rules on the real pipeline and a real H2 outbox: cooldown, the daily cap across midnight in
 * Europe/Berlin, and the history surviving the sink's acks (outbox rows deleted) and a restart.
 */
class CounterRulesPipelineTest {
    private static final String COFFEE = Vectors.cardText("valid");
    private static final String BAKERY = Vectors.cardText("valid, program with digit and dash");

    @TempDir
    Path dir;

    private final MutableClock clock = new MutableClock(Instant.parse("2026-11-23T21:40:00Z")); // 22:40 in Berlin
    private final RecordingFeedback feedback = new RecordingFeedback();
    private Outbox outbox;
    private StampPipeline pipeline;
    private CounterGuard guard;

    /** @param queued scans offered before the pipeline starts: they wait together, a burst */
    private void start(CounterRules rules, String... queued) throws Exception {
        outbox = Outbox.open(dir, clock);
        guard = new CounterGuard();
        guard.rules(rules);
        outbox.historyRetention(guard.horizon());
        for (Outbox.CounterStamp s : outbox.counterHistory(clock.instant().minus(CounterGuard.MAX_COOLDOWN))
                .get(5, TimeUnit.SECONDS)) {
            guard.load(s.programId(), s.cardId(), s.at());
        }
        StampFactory factory = new StampFactory("counter-1", "shop-12", clock, System::nanoTime, "boot", () -> true);
        ScanPolicy policy = new ScanPolicy(Vectors.verifier(), Set.of());
        pipeline = new StampPipeline(() -> policy, guard, factory, outbox, feedback, () -> false, () -> { }, 16,
                Duration.ofSeconds(5), null, Ticker.SYSTEM);
        for (String code : queued) {
            pipeline.accept(new Frame.Text(code));
        }
        pipeline.start();
    }

    private void stop() {
        pipeline.close(Duration.ofSeconds(2));
        outbox.close(Duration.ofSeconds(5));
    }

    @AfterEach
    void tearDown() {
        if (outbox != null) {
            stop();
        }
    }

    private static CounterRules rules(long cooldownSeconds, int dailyCap) {
        return new CounterRules(WireCodec.SCHEMA, 1, Map.of("coffee",
                new CounterRules.Limits(cooldownSeconds, dailyCap, "Europe/Berlin")));
    }

    /** Scans one code and returns the signal and details it got. */
    private RecordingFeedback.Given scan(String code) {
        int before = feedback.given().size();
        pipeline.accept(new Frame.Text(code));
        await().until(() -> feedback.given().size() == before + 1);
        return feedback.given().get(before);
    }

    @Test
    void secondScanWithinTheCooldownIsTooSoonAndOtherProgramsAreFree() throws Exception {
        start(rules(600, 0));
        assertEquals(Signal.ACCEPTED_OFFLINE, scan(COFFEE).signal());
        clock.advance(Duration.ofMinutes(9));
        RecordingFeedback.Given soon = scan(COFFEE);
        assertEquals(Signal.TOO_SOON, soon.signal());
        assertTrue(soon.details().startsWith("reason=TOO_SOON card ABCDEFGHJKMNPQRS of program coffee was stamped at "
                + "this counter 540 s ago; cooldown 600 s"), soon.details());
        assertEquals(Signal.ACCEPTED_OFFLINE, scan(BAKERY).signal(), "bakery-7 has no counter rules");
        assertEquals(Signal.ACCEPTED_OFFLINE, scan(BAKERY).signal());
        clock.advance(Duration.ofMinutes(1));
        assertEquals(Signal.ACCEPTED_OFFLINE, scan(COFFEE).signal(), "the cooldown is over");
        assertEquals(4L, outbox.count().get(), "the refused scan stored nothing");
    }

    @Test
    void aSecondScanOfTheSameCardInABurstStillMeetsTheCooldown() throws Exception {
        start(rules(600, 0), COFFEE, BAKERY, COFFEE, BAKERY);
        await().until(() -> feedback.given().size() == 4);
        assertEquals(List.of(Signal.ACCEPTED_OFFLINE, Signal.ACCEPTED_OFFLINE, Signal.TOO_SOON, Signal.ACCEPTED_OFFLINE),
                feedback.signals(), "the burst's first coffee stamp counts for its second");
        assertEquals(3L, outbox.count().get());
    }

    @Test
    void dailyCapCountsTheDayInBerlinAndOpensAgainAfterMidnightThere() throws Exception {
        start(rules(0, 2));
        assertEquals(Signal.ACCEPTED_OFFLINE, scan(COFFEE).signal()); // 22:40 Berlin
        clock.advance(Duration.ofMinutes(30));
        assertEquals(Signal.ACCEPTED_OFFLINE, scan(COFFEE).signal()); // 23:10 Berlin
        clock.advance(Duration.ofMinutes(30));
        RecordingFeedback.Given capped = scan(COFFEE); // 23:40 Berlin, 22:40 UTC: same day in both
        assertEquals(Signal.TOO_SOON, capped.signal(), "a daily cap sounds like too soon");
        assertTrue(capped.details().startsWith("reason=DAILY_CAP card ABCDEFGHJKMNPQRS of program coffee has 2 stamp(s) "
                + "at this counter today (Europe/Berlin), the daily cap is 2"), capped.details());
        clock.advance(Duration.ofMinutes(25)); // 00:05 Berlin on the 24th, still 23:05 UTC on the 23rd
        assertEquals(Signal.ACCEPTED_OFFLINE, scan(COFFEE).signal(), "a new day in Berlin");
    }

    @Test
    void historySurvivesTheAcksAndARestart() throws Exception {
        start(rules(600, 0));
        assertEquals(Signal.ACCEPTED_OFFLINE, scan(COFFEE).signal());
        // the sink acknowledged: the outbox row goes, the counter's memory stays
        StoredEvent stored = outbox.pending(0, 10).get().get(0);
        assertTrue(outbox.delete(stored.seq(), stored.eventId()).get(5, TimeUnit.SECONDS));
        assertEquals(0L, outbox.count().get());
        stop();
        clock.advance(Duration.ofMinutes(2));
        start(rules(600, 0));
        assertEquals(1, guard.cardsRemembered());
        assertEquals(Signal.TOO_SOON, scan(COFFEE).signal(), "remembered over the ack and the restart");
        assertEquals(List.of(Signal.ACCEPTED_OFFLINE, Signal.TOO_SOON), feedback.signals());
    }

    @Test
    void aStampThatTheHistoryPlacesInTheFutureDoesNotLockTheCardOut() throws Exception {
        start(rules(600, 1));
        assertEquals(Signal.ACCEPTED_OFFLINE, scan(COFFEE).signal());
        clock.advance(Duration.ofHours(-2)); // the wall clock went back (a Pi before NTP)
        assertEquals(Signal.ACCEPTED_OFFLINE, scan(COFFEE).signal(), "fail open: the sink still judges");
    }
}
