package app.sevenstamp.autopilot.sink.ingest;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import app.sevenstamp.autopilot.protocol.AckOutcome;
import app.sevenstamp.autopilot.protocol.EventKind;
import app.sevenstamp.autopilot.protocol.StampEvent;
import app.sevenstamp.autopilot.protocol.Topics;
import app.sevenstamp.autopilot.protocol.WireCodec;
import app.sevenstamp.autopilot.protocol.card.CardSigner;
import app.sevenstamp.autopilot.protocol.testing.Vectors;
import app.sevenstamp.autopilot.sink.loyalty.Program;
import app.sevenstamp.autopilot.sink.loyalty.RewardPlan;
import app.sevenstamp.autopilot.sink.loyalty.StampRules;
import app.sevenstamp.autopilot.sink.metrics.SinkMetrics;
import app.sevenstamp.autopilot.sink.store.Ledger;
import app.sevenstamp.autopilot.sink.store.LedgerHook;
import app.sevenstamp.autopilot.sink.store.SinkStore;
import app.sevenstamp.autopilot.sink.testing.Backend;
import app.sevenstamp.autopilot.sink.testing.TestIds;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Two sink instances (two stores, two processors) on one PostgreSQL, deciding overlapping batches
 * at the same time: the same cards, new card rows created by both, and the same events delivered
 * to both (a redelivery after a broker hand-over). No stamp is lost or counted twice.
 */
class ConcurrentBatchesTest {
    private static final int CARDS = 5;
    private static final int EVENTS = 400;
    private static final int BATCH = 40;

    @TempDir
    Path dir;

    @Test
    void twoInstancesOnOneDatabaseNeitherLoseNorDoubleAStampOnSharedCards() throws Exception {
        Backend.Fixture fixture = Backend.POSTGRESQL.fixture(dir);
        Topics topics = new Topics(Topics.DEFAULT_PREFIX);
        WireCodec codec = new WireCodec();
        CardSigner signer = Vectors.signer();
        List<String> cards = new ArrayList<>();
        for (int i = 0; i < CARDS; i++) {
            cards.add(signer.sign("coffee", "CCCCCCCCCCCCCCC" + "ABCDE".charAt(i)));
        }
        Instant t0 = Instant.parse("2026-11-23T08:00:00Z");
        List<EventProcessor.Message> all = new ArrayList<>();
        for (int i = 0; i < EVENTS; i++) {
            String code = cards.get(i % CARDS);
            String[] p = code.split("\\.");
            String device = "counter-" + (i % 4);
            StampEvent e = new StampEvent(WireCodec.SCHEMA, TestIds.event("ev-" + i), device, i / 4 + 1, code, p[2], p[3], "shop-1",
                    t0.plusSeconds(i), i, "boot", true, EventKind.STAMP);
            all.add(new EventProcessor.Message(topics.stamps(device), codec.encode(e)));
        }
        Program coffee = new Program("coffee", "Coffee", 7, StampRules.NONE, RewardPlan.SIMPLE);
        try (SinkStore one = fixture.open(); SinkStore two = fixture.open()) {
            SinkMetrics m1 = new SinkMetrics();
            SinkMetrics m2 = new SinkMetrics();
            EventProcessor p1 = new EventProcessor(topics, Vectors.verifier(), Map.of("coffee", coffee), one, m1,
                    Clock.systemUTC(), codec, DeviceGate.ANY, LedgerHook.NONE);
            EventProcessor p2 = new EventProcessor(topics, Vectors.verifier(), Map.of("coffee", coffee), two, m2,
                    Clock.systemUTC(), codec, DeviceGate.ANY, LedgerHook.NONE);
            // Instance 1 takes events 0..299, instance 2 takes 100..399, in the opposite order of
            // batches: 100..299 reach both, and the two lock the same cards in overlapping batches.
            List<List<EventProcessor.Message>> first = new ArrayList<>();
            List<List<EventProcessor.Message>> second = new ArrayList<>();
            for (int from = 0; from < 300; from += BATCH) {
                first.add(all.subList(from, Math.min(300, from + BATCH)));
            }
            for (int from = 100; from < EVENTS; from += BATCH) {
                second.add(0, all.subList(from, Math.min(EVENTS, from + BATCH)));
            }
            CountDownLatch start = new CountDownLatch(1);
            ExecutorService pool = Executors.newFixedThreadPool(2);
            try {
                Future<Long> a = pool.submit(run(p1, first, start));
                Future<Long> b = pool.submit(run(p2, second, start));
                start.countDown();
                long answered = a.get() + b.get();
                assertEquals(300 + 300, answered, "every event answered by each instance that got it");
            } finally {
                pool.shutdownNow();
            }
            assertEquals(EVENTS, m1.accepted() + m2.accepted(), "each event accepted by exactly one instance");
            assertEquals(200, m1.duplicates() + m2.duplicates(), "the events both got: the second one says DUPLICATE");
            assertEquals(EVENTS, one.countEvents());
            Map<String, app.sevenstamp.autopilot.sink.loyalty.CardBalance> derived = new Ledger(one).derive();
            assertEquals(derived, new Ledger(one).projected(), "the card rows agree with the ledger: no lost update");
            int stamps = 0;
            for (var balance : derived.values()) {
                stamps += balance.stamps() + 7 * balance.rewardsEarnedTotal();
            }
            assertEquals(EVENTS, stamps, "every stamp on its card exactly once");
            assertEquals(CARDS, derived.size());
            for (int d = 0; d < 4; d++) {
                assertEquals(List.of(), one.gaps("counter-" + d), "all events of counter-" + d + " arrived");
            }
        }
    }

    private static Callable<Long> run(EventProcessor p, List<List<EventProcessor.Message>> batches, CountDownLatch start) {
        return () -> {
            start.await();
            long answered = 0;
            for (List<EventProcessor.Message> batch : batches) {
                for (Optional<Outbound> answer : p.processBatch(batch)) {
                    AckOutcome outcome = answer.orElseThrow(() -> new AssertionError("an event left unanswered")).ack()
                            .outcome();
                    assertTrue(outcome == AckOutcome.ACCEPTED || outcome == AckOutcome.DUPLICATE, outcome.toString());
                    answered++;
                }
            }
            return answered;
        };
    }
}
