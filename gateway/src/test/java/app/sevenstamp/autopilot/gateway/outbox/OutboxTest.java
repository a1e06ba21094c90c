package app.sevenstamp.autopilot.gateway.outbox;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import app.sevenstamp.autopilot.protocol.EventIds;
import app.sevenstamp.autopilot.protocol.EventKind;
import app.sevenstamp.autopilot.protocol.StampEvent;
import app.sevenstamp.autopilot.protocol.WireCodec;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.ExecutionException;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class OutboxTest {
    private static final Instant T0 = Instant.parse("2026-11-23T07:02:11.345Z");

    @TempDir
    Path dir;

    private final Clock clock = Clock.fixed(T0, ZoneOffset.UTC);
    private Outbox outbox;

    @AfterEach
    void close() {
        if (outbox != null) {
            outbox.close(Duration.ofSeconds(5));
        }
    }

    static StampDraft draft(String cardId) {
        return new StampDraft(EventIds.next(T0.toEpochMilli()), "counter-1",
                "7S1.k1.coffee." + cardId + ".sig", "coffee", cardId, "shop-12", T0, 123_456_789L,
                "6c0b0a4e-3f7d-4f4e-9a59-3a3b8b1f6a21", true, EventKind.STAMP);
    }

    private Outbox open() throws OutboxException {
        outbox = Outbox.open(dir, clock);
        return outbox;
    }

    private void reopen() throws OutboxException {
        outbox.close(Duration.ofSeconds(5));
        outbox = Outbox.open(dir, clock);
    }

    @Test
    void appendAssignsSequenceNumbersAndStoresTheEncodedEvent() throws Exception {
        open();
        StoredEvent first = outbox.append(draft("AAAAAAAAAAAAAAAA")).get();
        StoredEvent second = outbox.append(draft("BBBBBBBBBBBBBBBB")).get();
        assertEquals(1, first.seq());
        assertEquals(2, second.seq());
        assertEquals(T0, first.createdAt());
        StampEvent decoded = new WireCodec().decodeStampEvent(first.payload());
        assertEquals(draft("AAAAAAAAAAAAAAAA").withSeq(1).cardId(), decoded.cardId());
        assertEquals(1, decoded.seq());
        assertEquals(first.eventId(), decoded.eventId());
        assertTrue(Files.exists(dir.resolve("outbox.mv.db")));
    }

    @Test
    void pendingReturnsEventsAfterASequenceNumberInOrderUpToALimit() throws Exception {
        open();
        for (int i = 0; i < 5; i++) {
            outbox.append(draft("CARD" + "ABCDEFGHJKMN".charAt(i) + "AAAAAAAAAAA")).get();
        }
        List<StoredEvent> all = outbox.pending(0, 100).get();
        assertEquals(List.of(1L, 2L, 3L, 4L, 5L), all.stream().map(StoredEvent::seq).toList());
        assertEquals(List.of(3L, 4L), outbox.pending(2, 2).get().stream().map(StoredEvent::seq).toList());
        assertEquals(List.of(), outbox.pending(5, 10).get());
        StoredEvent appended = all.get(0);
        assertEquals("6c0b0a4e-3f7d-4f4e-9a59-3a3b8b1f6a21", appended.bootId());
        assertEquals(123_456_789L, appended.monotonicNanos());
    }

    @Test
    void deleteRemovesOnlyThatEvent() throws Exception {
        open();
        StoredEvent a = outbox.append(draft("AAAAAAAAAAAAAAAA")).get();
        StoredEvent b = outbox.append(draft("BBBBBBBBBBBBBBBB")).get();
        assertTrue(outbox.delete(a.seq(), a.eventId()).get());
        assertFalse(outbox.delete(a.seq(), a.eventId()).get(), "a second delete finds nothing");
        assertEquals(1L, outbox.count().get());
        List<StoredEvent> left = outbox.pending(0, 10).get();
        assertEquals(1, left.size());
        assertEquals(b.eventId(), left.get(0).eventId());
        assertArrayEquals(b.payload(), left.get(0).payload());
    }

    @Test
    void countAndOldestDescribeTheBacklog() throws Exception {
        open();
        assertEquals(0L, outbox.count().get());
        assertEquals(Optional.empty(), outbox.oldestCreatedAt().get());
        outbox.append(draft("AAAAAAAAAAAAAAAA")).get();
        outbox.append(draft("BBBBBBBBBBBBBBBB")).get();
        assertEquals(2L, outbox.count().get());
        assertEquals(Optional.of(T0), outbox.oldestCreatedAt().get());
    }

    @Test
    void eventsAndSequenceSurviveCloseAndReopen() throws Exception {
        open();
        StoredEvent a = outbox.append(draft("AAAAAAAAAAAAAAAA")).get();
        outbox.append(draft("BBBBBBBBBBBBBBBB")).get();
        reopen();
        assertEquals(2L, outbox.count().get());
        assertEquals(a.eventId(), outbox.pending(0, 1).get().get(0).eventId());
        assertEquals(3, outbox.append(draft("CCCCCCCCCCCCCCCC")).get().seq());
    }

    @Test
    void sequenceContinuesAfterEverythingWasDeletedAndReopened() throws Exception {
        open();
        for (StoredEvent e : List.of(outbox.append(draft("AAAAAAAAAAAAAAAA")).get(),
                outbox.append(draft("BBBBBBBBBBBBBBBB")).get())) {
            outbox.delete(e.seq(), e.eventId()).get();
        }
        assertEquals(0L, outbox.count().get());
        reopen();
        assertEquals(3, outbox.append(draft("CCCCCCCCCCCCCCCC")).get().seq());
    }

    /**
     * The outbox finds a row by its number, not its event id, which has no index (it cost more than half
     * of each delete). An event stored twice (nothing appends a draft twice) is two rows, each deleted by its own
     * number; the sink counts the event once.
     */
    @Test
    void aRowIsDeletedByItsNumberAndOnlyWhenItHoldsTheAcknowledgedEvent() throws Exception {
        open();
        StampDraft d = draft("AAAAAAAAAAAAAAAA");
        StoredEvent first = outbox.append(d).get();
        StoredEvent second = outbox.append(d).get();
        assertEquals(List.of(1L, 2L), List.of(first.seq(), second.seq()));
        assertFalse(outbox.delete(2, "another-event").get(), "seq 2 holds another event");
        assertTrue(outbox.delete(first.seq(), first.eventId()).get());
        assertEquals(List.of(2L), outbox.pending(0, 10).get().stream().map(StoredEvent::seq).toList());
        assertTrue(outbox.delete(second.seq(), second.eventId()).get());
        assertEquals(0L, outbox.count().get());
    }

    @Test
    void callsAfterCloseFailInsteadOfHanging() throws Exception {
        open();
        outbox.close(Duration.ofSeconds(5));
        ExecutionException e = assertThrows(ExecutionException.class, () -> outbox.count().get());
        assertEquals("the outbox is closed", e.getCause().getMessage());
        outbox = null;
    }
}
