package app.sevenstamp.autopilot.sink.store;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import app.sevenstamp.autopilot.protocol.AckOutcome;
import app.sevenstamp.autopilot.sink.loyalty.CardBalance;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SinkStoreTest {
    private static final Instant T0 = Instant.parse("2026-11-23T07:02:11.345678912Z");

    @TempDir
    Path dir;

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
        try (SinkStore store = SinkStore.open(dir.resolve("sink"))) {
            assertTrue(store.card("ABCDEFGHJKMNPQRS").isEmpty());
            assertTrue(stamp(store, "e1", 1, "ABCDEFGHJKMNPQRS"));
            assertTrue(stamp(store, "e2", 2, "ABCDEFGHJKMNPQRS"));
            StoredCard card = store.card("ABCDEFGHJKMNPQRS").orElseThrow();
            assertEquals(new CardBalance(2, 0, 0), card.balance());
            assertEquals(T0.plusSeconds(2), card.lastStampAt(), "nanosecond precision survives the round trip");
            assertEquals(T0, card.firstSeenAt());
            assertEquals(OptionalLong.of(2), store.lastSeq("counter-1"));
            assertEquals(event("e2", 2, "ABCDEFGHJKMNPQRS"), store.event("e2").orElseThrow());
        }
    }

    @Test
    void aDuplicateEventIdIsCountedOnce() {
        try (SinkStore store = SinkStore.open(dir.resolve("sink"))) {
            assertTrue(stamp(store, "e1", 1, "ABCDEFGHJKMNPQRS"));
            assertFalse(stamp(store, "e1", 1, "ABCDEFGHJKMNPQRS"), "the primary key refuses the second insert");
            assertEquals(1, store.countEvents());
            assertEquals(1, store.card("ABCDEFGHJKMNPQRS").orElseThrow().balance().stamps());
        }
    }

    @Test
    void twoWritersOfTheSameEventCountItOnce() throws Exception {
        ExecutorService pool = Executors.newFixedThreadPool(2);
        try (SinkStore store = SinkStore.open(dir.resolve("sink"))) {
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
        Path file = dir.resolve("sink");
        try (SinkStore store = SinkStore.open(file)) {
            for (int i = 1; i <= 5; i++) {
                stamp(store, "e" + i, i, "ABCDEFGHJKMNPQRS");
            }
            stamp(store, "e6", 6, "ZZZZ2222YYYY3333");
            store.sync();
        }
        assertTrue(Files.exists(dir.resolve("sink.mv.db")));
        try (SinkStore store = SinkStore.open(file)) {
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
        try (SinkStore store = SinkStore.open(dir.resolve("sink"))) {
            stamp(store, "e9", 9, "ABCDEFGHJKMNPQRS");
            stamp(store, "e4", 4, "ABCDEFGHJKMNPQRS");
            assertEquals(OptionalLong.of(9), store.lastSeq("counter-1"));
            assertEquals(OptionalLong.empty(), store.lastSeq("counter-2"));
        }
    }

    @Test
    void aFailedTransactionLeavesNoTrace() {
        try (SinkStore store = SinkStore.open(dir.resolve("sink"))) {
            assertThrows(IllegalStateException.class, () -> store.transaction(tx -> {
                tx.insertEvent(event("e1", 1, "ABCDEFGHJKMNPQRS"));
                throw new IllegalStateException("boom");
            }));
            assertEquals(0, store.countEvents());
        }
    }

    @Test
    void aCorruptFileStopsTheSinkWithAnExplanationAndIsLeftInPlace() throws Exception {
        Path file = dir.resolve("sink.mv.db");
        byte[] garbage = new byte[8192];
        new java.util.Random(1).nextBytes(garbage);
        Files.write(file, garbage);
        StoreException e = assertThrows(StoreException.class, () -> SinkStore.open(dir.resolve("sink")));
        assertTrue(e.getMessage().startsWith("store " + file + " cannot be opened: "), e.getMessage());
        assertTrue(e.getMessage().endsWith("; the sink does not start on a store it cannot read: restore a backup, "
                + "or move the file aside to start with an empty store"), e.getMessage());
        assertTrue(java.util.Arrays.equals(garbage, Files.readAllBytes(file)), "the file is never deleted or rewritten");
    }

    @Test
    void aStoreDirectoryThatCannotBeCreatedIsNamed() throws Exception {
        Path blocker = dir.resolve("not-a-dir");
        Files.writeString(blocker, "x");
        StoreException e = assertThrows(StoreException.class, () -> SinkStore.open(blocker.resolve("sink")));
        assertTrue(e.getMessage().startsWith("store directory " + blocker + " cannot be created: "), e.getMessage());
    }
}
