package app.sevenstamp.autopilot.sink.store;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import app.sevenstamp.autopilot.protocol.AckOutcome;
import app.sevenstamp.autopilot.sink.loyalty.CardBalance;
import java.nio.file.Path;
import java.time.Instant;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import app.sevenstamp.autopilot.sink.testing.Backend;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.Parameter;
import org.junit.jupiter.params.ParameterizedClass;
import org.junit.jupiter.params.provider.EnumSource;

/** The store on both databases; the H2-only file handling is in {@link H2DatabaseTest}. */
@ParameterizedClass
@EnumSource(Backend.class)
class SinkStoreTest {
    /** Microseconds: what PostgreSQL keeps (H2 keeps nanoseconds). */
    private static final Instant T0 = Instant.parse("2026-11-23T07:02:11.345678Z");

    @Parameter
    Backend backend;

    @TempDir
    Path dir;
    private Backend.Fixture db;

    @BeforeEach
    void database() {
        db = backend.fixture(dir);
    }

    private static StoredEvent event(String id, long seq, String card) {
        return new StoredEvent(id, "counter-1", seq, card, "coffee", "STAMP", T0.plusSeconds(seq), T0.plusSeconds(seq + 1),
                true, AckOutcome.ACCEPTED, null);
    }

    /** What the ingest does per stamp, reduced to the store: event row first, then the card. */
    private static boolean stamp(SinkStore store, String eventId, long seq, String cardId) {
        return store.transaction(tx -> {
            Optional<StoredCard> before = tx.lockCard(cardId);
            if (!tx.insertEvent(event(eventId, seq, cardId))) {
                return false;
            }
            CardBalance b = before.map(StoredCard::balance).orElse(CardBalance.EMPTY);
            CardBalance after = new CardBalance(b.stamps() + 1, b.rewardsAvailable(), b.rewardsEarnedTotal());
            tx.saveCard(before.map(c -> c.with(after, T0.plusSeconds(seq)))
                    .orElse(new StoredCard(cardId, "coffee", after, T0.plusSeconds(seq), T0)), before.isEmpty());
            tx.noteDeviceSeq("counter-1", seq, T0);
            return true;
        });
    }

    @Test
    void aCardIsCreatedByItsFirstEventAndUpdatedByTheNext() {
        try (SinkStore store = db.open()) {
            assertTrue(store.card("ABCDEFGHJKMNPQRS").isEmpty());
            assertTrue(stamp(store, "e1", 1, "ABCDEFGHJKMNPQRS"));
            assertTrue(stamp(store, "e2", 2, "ABCDEFGHJKMNPQRS"));
            StoredCard card = store.card("ABCDEFGHJKMNPQRS").orElseThrow();
            assertEquals(new CardBalance(2, 0, 0), card.balance());
            assertEquals(T0.plusSeconds(2), card.lastStampAt(), "microsecond precision survives the round trip");
            assertEquals(T0, card.firstSeenAt());
            assertEquals(OptionalLong.of(2), store.lastSeq("counter-1"));
            assertEquals(event("e2", 2, "ABCDEFGHJKMNPQRS"), store.event("e2").orElseThrow());
        }
    }

    @Test
    void aDuplicateEventIdIsCountedOnce() {
        try (SinkStore store = db.open()) {
            assertTrue(stamp(store, "e1", 1, "ABCDEFGHJKMNPQRS"));
            assertFalse(stamp(store, "e1", 1, "ABCDEFGHJKMNPQRS"), "the primary key refuses the second insert");
            assertEquals(1, store.countEvents());
            assertEquals(1, store.card("ABCDEFGHJKMNPQRS").orElseThrow().balance().stamps());
        }
    }

    @Test
    void twoWritersOfTheSameEventCountItOnce() throws Exception {
        ExecutorService pool = Executors.newFixedThreadPool(2);
        try (SinkStore store = db.open()) {
            int applied = 0;
            for (int round = 0; round < 20; round++) {
                String id = "race-" + round;
                CountDownLatch go = new CountDownLatch(1);
                Future<Boolean> a = pool.submit(() -> {
                    go.await();
                    return stamp(store, id, 1, "RACERACERACE");
                });
                Future<Boolean> b = pool.submit(() -> {
                    go.await();
                    return stamp(store, id, 1, "RACERACERACE");
                });
                go.countDown();
                applied += (a.get(10, TimeUnit.SECONDS) ? 1 : 0) + (b.get(10, TimeUnit.SECONDS) ? 1 : 0);
            }
            assertEquals(20, applied, "exactly one writer wins each event");
            assertEquals(20, store.card("RACERACERACE").orElseThrow().balance().stamps());
            assertEquals(20, store.countEvents());
        } finally {
            pool.shutdownNow();
        }
    }

    @Test
    void everythingSurvivesARestartOnTheSameFile() {
        try (SinkStore store = db.open()) {
            for (int i = 1; i <= 5; i++) {
                stamp(store, "e" + i, i, "ABCDEFGHJKMNPQRS");
            }
            stamp(store, "e6", 6, "ZZZZ2222YYYY3333");
            store.sync();
        }
        try (SinkStore store = db.open()) {
            assertEquals(6, store.countEvents());
            assertEquals(2, store.countCards());
            assertEquals(5, store.card("ABCDEFGHJKMNPQRS").orElseThrow().balance().stamps());
            assertEquals(OptionalLong.of(6), store.lastSeq("counter-1"));
            assertFalse(stamp(store, "e3", 3, "ABCDEFGHJKMNPQRS"), "a redelivery after the restart is still a duplicate");
            assertEquals(5, store.card("ABCDEFGHJKMNPQRS").orElseThrow().balance().stamps());
        }
    }

    @Test
    void theLastSequenceNumberNeverGoesBackwards() {
        try (SinkStore store = db.open()) {
            stamp(store, "e9", 9, "ABCDEFGHJKMNPQRS");
            stamp(store, "e4", 4, "ABCDEFGHJKMNPQRS");
            assertEquals(OptionalLong.of(9), store.lastSeq("counter-1"));
            assertEquals(OptionalLong.empty(), store.lastSeq("counter-2"));
        }
    }

    @Test
    void aFailedTransactionLeavesNoTrace() {
        try (SinkStore store = db.open()) {
            assertThrows(IllegalStateException.class, () -> store.transaction(tx -> {
                tx.insertEvent(event("e1", 1, "ABCDEFGHJKMNPQRS"));
                throw new IllegalStateException("boom");
            }));
            assertEquals(0, store.countEvents());
        }
    }
}
