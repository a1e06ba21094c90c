package app.sevenstamp.autopilot.gateway.outbox;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import app.sevenstamp.autopilot.gateway.support.Ticker;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * H2 closed after a write error (a full disk, a failing card) while the redo log, the durable record, can
 * still be written. The outbox reopens H2 at most once a second; scans in between must still be stored, as
 * they are while a compaction has H2 away: a CI run refused 20 scans in a row right after the disk had room
 * again (NetworkAndDiskFaultIT).
 */
class OutboxWriteErrorTest {
    private static final Instant T0 = Instant.parse("2026-11-23T07:02:11.345Z");

    @TempDir
    Path dir;

    private final Clock clock = Clock.fixed(T0, ZoneOffset.UTC);
    /** The outbox's monotonic clock, moved by hand: the reopen throttle sees exactly the time the test says. */
    private final AtomicLong nanos = new AtomicLong(1_000_000_000L);
    private final Ticker ticker = nanos::get;
    private Outbox outbox;

    @AfterEach
    void close() {
        FailingStorage.failH2(false);
        FailingStorage.failRedo(false);
        FailingStorage.failCompactionCopy(false);
        if (outbox != null) {
            outbox.close(Duration.ofSeconds(5));
        }
    }

    /** Until {@code op} fails: H2's lazy writer met the failing disk and the error surfaced in it. */
    private static void awaitFailure(java.util.concurrent.Callable<?> op) {
        await().atMost(30, TimeUnit.SECONDS).until(() -> {
            try {
                op.call();
                return false;
            } catch (ExecutionException e) {
                return true;
            }
        });
    }

    private static StampDraft draft(int i) {
        return OutboxTest.draft(String.format("CARD%012d", i));
    }

    /**
     * A compaction whose copy cannot be written (the disk has no room for it) is not tried again at the next
     * operation, each time after a SHUTDOWN, a copy up to the full disk and a reopen with a replay; it is due
     * again once the file has grown as it would have to after a compaction. Nothing is lost meanwhile.
     */
    @Test
    void aCompactionThatCannotWriteItsCopyIsNotRetriedAtEveryOperation() throws Exception {
        // due at a quarter of 4 MB, then again after growing by an eighth: a couple of thousand stamps. Nothing is
        // acknowledged, so the live rows (~450 bytes each) grow towards the limit; with 4 MB they stay far from it
        // even where H2's file grows in steps of several hundred KB (2 MB came within 300 KB of it on a loaded CPU)
        outbox = Outbox.open(dir, clock, ticker, new OutboxLimits(100_000, 4L << 20, 0, 95), FailingStorage.storage());
        FailingStorage.failCompactionCopy(true);
        List<String> confirmed = new ArrayList<>();
        while (outbox.compactionFailures() == 0) { // one at a time here too (see below)
            confirmed.add(outbox.append(draft(confirmed.size())).get(10, TimeUnit.SECONDS).eventId());
            outbox.count().get(30, TimeUnit.SECONDS);
            assertTrue(confirmed.size() < 20_000, "no compaction was tried");
        }
        for (int i = 0; i < 20; i++) { // each operation asks whether a compaction is due
            confirmed.add(outbox.append(draft(confirmed.size())).get(10, TimeUnit.SECONDS).eventId());
            outbox.count().get(10, TimeUnit.SECONDS); // waits for H2: a compaction started meanwhile has ended
        }
        assertEquals(1, outbox.compactionFailures(), "a failed compaction was tried again at once");
        assertEquals(0, outbox.compactions());
        assertEquals(confirmed, outbox.pending(0, 100_000).get(10, TimeUnit.SECONDS).stream()
                .map(StoredEvent::eventId).toList(), "every stamp, in order, once");

        FailingStorage.failCompactionCopy(false);
        // the file grows on, and the compaction is due again. One append at a time, each followed by a read that
        // waits for H2: appends back to back while the compaction is away are confirmed by the redo log alone, as
        // fast as it syncs, and all reach H2 at once when it is back; on a loaded machine (a compaction of seconds)
        // that is a backlog bigger than this test's 4 MB limit, which the outbox then rightly refuses to grow
        while (outbox.compactions() == 0) {
            confirmed.add(outbox.append(draft(confirmed.size())).get(10, TimeUnit.SECONDS).eventId());
            outbox.count().get(30, TimeUnit.SECONDS);
            assertTrue(confirmed.size() < 40_000, "the compaction never came back");
        }
        assertEquals(confirmed, outbox.pending(0, 100_000).get(30, TimeUnit.SECONDS).stream()
                .map(StoredEvent::eventId).toList());
    }

    @Test
    void appendsAreConfirmedByTheRedoLogWhileH2IsClosedAndReachH2WhenItReopens() throws Exception {
        outbox = Outbox.open(dir, clock, ticker, OutboxLimits.DEFAULT, FailingStorage.storage());
        List<String> confirmed = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            confirmed.add(outbox.append(draft(i)).get().eventId());
        }

        // H2 can no longer write nor be opened; its lazy writer fails and the store closes under the outbox
        FailingStorage.failH2(true);
        confirmed.add(outbox.append(draft(3)).get().eventId()); // the redo log took it: confirmed
        awaitFailure(() -> outbox.pending(0, 10).get());
        ExecutionException refused = assertThrows(ExecutionException.class,
                () -> outbox.pending(0, 10).get(), "H2 cannot be reopened yet: a read still fails");
        assertInstanceOf(OutboxException.class, refused.getCause());

        // appends go on, on the redo log alone: numbered on, each one confirmed
        for (int i = 4; i < 24; i++) {
            StoredEvent e = outbox.append(draft(i)).get();
            assertEquals(i + 1, e.seq(), "numbering goes on while H2 is closed");
            confirmed.add(e.eventId());
        }

        // H2 works again; the next operation after the throttle reopens it and replays the log into it
        FailingStorage.failH2(false);
        nanos.addAndGet(TimeUnit.SECONDS.toNanos(2));
        assertEquals(confirmed, outbox.pending(0, 100).get().stream().map(StoredEvent::eventId).toList());
        assertEquals(24L, outbox.count().get());
        assertEquals(25, outbox.append(draft(24)).get().seq());

        // and the files hold them all after a clean restart
        outbox.close(Duration.ofSeconds(5));
        outbox = Outbox.open(dir, clock, ticker, OutboxLimits.DEFAULT, FailingStorage.storage());
        List<StoredEvent> after = outbox.pending(0, 100).get();
        assertEquals(25, after.size());
        assertEquals(confirmed, after.subList(0, 24).stream().map(StoredEvent::eventId).toList());
    }

    @Test
    void withNeitherH2NorTheRedoLogWritableAnAppendFailsAndIsNeverCounted() throws Exception {
        outbox = Outbox.open(dir, clock, ticker, OutboxLimits.DEFAULT, FailingStorage.storage());
        List<String> confirmed = new ArrayList<>();
        confirmed.add(outbox.append(draft(0)).get().eventId());
        FailingStorage.failH2(true);
        FailingStorage.failRedo(true); // the disk is full: nothing can be written
        awaitFailure(() -> outbox.pending(0, 10).get());
        for (int i = 1; i <= 5; i++) {
            int n = i;
            ExecutionException e = assertThrows(ExecutionException.class, () -> outbox.append(draft(n)).get(),
                    "no durable record, no confirmation");
            assertInstanceOf(IOException.class, e.getCause());
        }

        // room again: the next append is stored under the next number, the refused ones are nowhere
        FailingStorage.failRedo(false);
        StoredEvent next = outbox.append(draft(6)).get();
        assertEquals(2, next.seq());
        confirmed.add(next.eventId());
        FailingStorage.failH2(false);
        nanos.addAndGet(TimeUnit.SECONDS.toNanos(2));
        assertEquals(confirmed, outbox.pending(0, 100).get().stream().map(StoredEvent::eventId).toList());
    }

    /** The error may surface in a status read (the heartbeat's count) of an idle box: that closes H2 too. */
    @Test
    void aStatusReadThatMeetsTheFailedWriteClosesH2Too() throws Exception {
        outbox = Outbox.open(dir, clock, ticker, OutboxLimits.DEFAULT, FailingStorage.storage());
        String first = outbox.append(draft(0)).get().eventId();
        FailingStorage.failH2(true);
        String second = outbox.append(draft(1)).get().eventId();
        awaitFailure(() -> outbox.count().get());
        ExecutionException e = assertThrows(ExecutionException.class, () -> outbox.pending(0, 10).get(),
                "H2 was closed by the failed count, and cannot be reopened yet");
        assertInstanceOf(OutboxException.class, e.getCause());

        FailingStorage.failH2(false);
        nanos.addAndGet(TimeUnit.SECONDS.toNanos(2));
        assertEquals(List.of(first, second), outbox.pending(0, 10).get().stream().map(StoredEvent::eventId).toList());
    }
}
