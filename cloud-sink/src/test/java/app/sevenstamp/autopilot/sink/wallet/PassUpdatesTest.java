package app.sevenstamp.autopilot.sink.wallet;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import app.sevenstamp.autopilot.protocol.testing.MutableClock;
import app.sevenstamp.autopilot.sink.loyalty.LedgerType;
import app.sevenstamp.autopilot.sink.loyalty.Program;
import app.sevenstamp.autopilot.sink.loyalty.RewardPlan;
import app.sevenstamp.autopilot.sink.loyalty.StampRules;
import app.sevenstamp.autopilot.sink.store.LedgerEntry;
import app.sevenstamp.autopilot.sink.store.SinkStore;
import app.sevenstamp.autopilot.sink.testing.Backend;
import app.sevenstamp.autopilot.sink.voucher.VoucherStore;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.Parameter;
import org.junit.jupiter.params.ParameterizedClass;
import org.junit.jupiter.params.provider.EnumSource;

/** The pending pass updates on the real store, H2 file and PostgreSQL, with a channel that records (or fails) instead of a phone. */
@ParameterizedClass
@EnumSource(Backend.class)
class PassUpdatesTest {
    @Parameter
    Backend backend;

    @TempDir
    Path dir;
    private Backend.Fixture fixture;

    @BeforeEach
    void database() {
        fixture = backend.fixture(dir);
    }
    private final MutableClock clock = new MutableClock(Instant.parse("2026-12-03T10:00:00Z"));

    /** Records each call; fails while {@link #failing} is set. */
    static final class Recorder implements PassChannel {
        final List<CardState> calls = new CopyOnWriteArrayList<>();
        volatile boolean failing;
        Runnable during = () -> { };

        @Override
        public String name() {
            return "test";
        }

        @Override
        public void cardChanged(CardState card) throws Exception {
            calls.add(card);
            during.run();
            if (failing) {
                throw new java.io.IOException("push service down");
            }
        }
    }

    private static LedgerEntry stamp(String card, Instant at) {
        return new LedgerEntry(0, card, "coffee", LedgerType.STAMP, 1, 0, 0, "ev-" + at.toEpochMilli(), "shop-1", at, at, null,
                null, "box-1", null, null);
    }

    private PassUpdates updates(SinkStore store, Recorder channel) {
        Map<String, Program> programs = Map.of("coffee", new Program("coffee", "Coffee", 10, StampRules.NONE, RewardPlan.SIMPLE));
        return new PassUpdates(store, List.of(channel), new CardStates(store, programs, new VoucherStore(store), clock), clock,
                new Random(7));
    }

    private void change(SinkStore store, PassUpdates u, String card) {
        store.transaction(tx -> {
            u.appended(tx, stamp(card, clock.instant()));
            return null;
        });
    }

    @Test
    void aRolledBackStampSendsNothing() {
        Recorder channel = new Recorder();
        try (SinkStore store = fixture.open()) {
            PassUpdates u = updates(store, channel);
            assertThrows(IllegalStateException.class, () -> store.transaction(tx -> {
                u.appended(tx, stamp("AAAAAAAAAAAAAAAA", clock.instant()));
                throw new IllegalStateException("the batch failed after the line was appended");
            }));
            clock.advance(Duration.ofMinutes(1));
            assertEquals(0, u.runOnce());
            assertEquals(List.of(), channel.calls);
        }
    }

    @Test
    void aBurstIsOneUpdateAfterTheCoalescingWindow() {
        Recorder channel = new Recorder();
        try (SinkStore store = fixture.open()) {
            PassUpdates u = updates(store, channel);
            for (int i = 0; i < 10; i++) {
                change(store, u, "AAAAAAAAAAAAAAAA");
                clock.advance(Duration.ofMillis(50));
            }
            assertEquals(0, u.runOnce(), "not due before the window closed");
            clock.advance(PassUpdates.COALESCE);
            assertEquals(1, u.runOnce());
            assertEquals(1, channel.calls.size());
            assertEquals("Coffee", channel.calls.get(0).programName());
            clock.advance(Duration.ofMinutes(1));
            assertEquals(0, u.runOnce(), "done is done");
            assertEquals(1L, u.counters().get("wallet.sent"));
            assertEquals(0L, u.counters().get("wallet.pending"));
            assertEquals(1500L, u.counters().get("wallet.latencyMsLast"), "first stamp to push");
        }
    }

    @Test
    void aChangeDuringTheSendIsSentAgain() {
        Recorder channel = new Recorder();
        try (SinkStore store = fixture.open()) {
            PassUpdates u = updates(store, channel);
            change(store, u, "AAAAAAAAAAAAAAAA");
            channel.during = () -> {
                channel.during = () -> { };
                change(store, u, "AAAAAAAAAAAAAAAA"); // a stamp commits while the push is on its way
            };
            clock.advance(PassUpdates.COALESCE);
            assertEquals(1, u.runOnce());
            clock.advance(PassUpdates.COALESCE);
            assertEquals(1, u.runOnce(), "the later change gets its own update");
            assertEquals(2, channel.calls.size());
        }
    }

    @Test
    void aFailedUpdateIsRetriedWithBackoffAndSurvivesARestart() {
        Recorder channel = new Recorder();
        channel.failing = true;
        try (SinkStore store = fixture.open()) {
            PassUpdates u = updates(store, channel);
            change(store, u, "AAAAAAAAAAAAAAAA");
            clock.advance(PassUpdates.COALESCE);
            assertEquals(0, u.runOnce());
            assertEquals(1, channel.calls.size());
            assertEquals(0, u.runOnce(), "not again at once");
            assertEquals(1, channel.calls.size());
            assertEquals(1L, u.counters().get("wallet.failed"));
            assertEquals(1L, u.counters().get("wallet.pending"));
        }
        channel.failing = false;
        clock.advance(Duration.ofSeconds(3)); // past the first backoff, 1 to 2 s
        try (SinkStore store = fixture.open()) {
            PassUpdates u = updates(store, channel);
            assertEquals(1, u.runOnce(), "the pending update outlived the restart");
            assertEquals(2, channel.calls.size());
        }
    }

    @Test
    void aClockSetBackDoesNotHoldUpdatesBack() {
        Recorder channel = new Recorder();
        try (SinkStore store = fixture.open()) {
            PassUpdates u = updates(store, channel);
            change(store, u, "AAAAAAAAAAAAAAAA");
            clock.advance(Duration.ofHours(-3)); // the clock was hours ahead, and NTP corrected it
            assertEquals(1, u.runOnce(), "sent now, not three hours from now");
            assertEquals(1, channel.calls.size());
        }
    }

    @Test
    void aSinkKilledDuringASendSendsAgainAfterTheLease() {
        Recorder channel = new Recorder();
        try (SinkStore store = fixture.open()) {
            PassUpdates u = updates(store, channel);
            change(store, u, "AAAAAAAAAAAAAAAA");
            clock.advance(PassUpdates.COALESCE);
            // the claim, as a sink that dies right after it would leave it
            channel.during = () -> {
                throw new AssertionError("kill -9"); // not an Exception: nothing after the claim runs
            };
            assertThrows(AssertionError.class, u::runOnce);
            channel.during = () -> { };
            clock.advance(Duration.ofSeconds(30));
            PassUpdates restarted = updates(store, channel);
            assertEquals(0, restarted.runOnce(), "claimed by the dead sink for the lease");
            clock.advance(PassUpdates.LEASE);
            assertEquals(1, restarted.runOnce());
        }
    }
}
