package app.sevenstamp.autopilot.gateway.uplink;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import app.sevenstamp.autopilot.gateway.outbox.Outbox;
import app.sevenstamp.autopilot.gateway.outbox.StampDraft;
import app.sevenstamp.autopilot.gateway.outbox.StoredEvent;
import app.sevenstamp.autopilot.protocol.EventIds;
import app.sevenstamp.autopilot.protocol.EventKind;
import app.sevenstamp.autopilot.protocol.StampEvent;
import app.sevenstamp.autopilot.protocol.WireCodec;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The clock corrector on the link's thread, against a real outbox; its thread is this test's. */
class ClockCorrectorTest {
    private static final String BOOT = "boot-c";
    private static final Instant WRONG = Instant.parse("1970-01-01T00:01:00Z"); // a Pi without an RTC before NTP
    private static final Instant SYNCED_AT = Instant.parse("2026-12-04T09:00:00Z");
    private static final long MONO_NOW = 600_000_000_000L;

    @TempDir
    Path dir;
    private Outbox outbox;

    @AfterEach
    void close() {
        outbox.close(Duration.ofSeconds(5));
    }

    @Test
    void eventsStoredBeforeTheClockSynchronisedAreCorrectedOnceItIsInBatchesAndThenItStopsWatching() throws Exception {
        outbox = Outbox.open(dir, Clock.systemUTC());
        int n = 501; // one more than a batch
        List<CompletableFuture<?>> appends = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            appends.add(outbox.append(draft(MONO_NOW - (n - i) * 1_000_000_000L)));
        }
        for (CompletableFuture<?> a : appends) {
            a.get();
        }
        AtomicBoolean synced = new AtomicBoolean();
        ClockCorrector corrector = new ClockCorrector(outbox, BOOT, Clock.fixed(SYNCED_AT, ZoneOffset.UTC),
                () -> MONO_NOW, synced::get);

        assertEquals(MONO_NOW + Duration.ofSeconds(1).toNanos(), corrector.dueAt(MONO_NOW), "watches the clock");
        corrector.run(MONO_NOW);
        assertEquals(0, corrected(), "nothing before the clock is synchronised");

        synced.set(true);
        corrector.run(MONO_NOW);
        assertEquals(n, corrected(), "every batch, not only the first");
        StampEvent last = events().get(n - 1);
        assertEquals(SYNCED_AT.minusSeconds(1), last.deviceTime(), "scanned one second before now on the monotonic clock");
        assertEquals(Long.MAX_VALUE, corrector.dueAt(MONO_NOW), "nothing left to watch for");

        append(MONO_NOW); // an append that raced the synchronisation
        assertTrue(corrector.dueAt(MONO_NOW) < Long.MAX_VALUE);
        corrector.run(MONO_NOW);
        assertEquals(n + 1, corrected());
    }

    private void append(long monoNanos) throws Exception {
        outbox.append(draft(monoNanos)).get();
    }

    private static StampDraft draft(long monoNanos) {
        return new StampDraft(EventIds.next(System.currentTimeMillis()), "counter-1", "7S1.k1.coffee.X.sig", "coffee",
                "ABCDEFGHJKMNPQRS", "shop-12", WRONG, monoNanos, BOOT, false, EventKind.STAMP);
    }

    private List<StampEvent> events() throws Exception {
        WireCodec codec = new WireCodec();
        List<StampEvent> events = new ArrayList<>();
        for (StoredEvent e : outbox.pending(0, 1000).get()) {
            events.add(codec.decodeStampEvent(e.payload()));
        }
        return events;
    }

    private long corrected() throws Exception {
        return events().stream().filter(e -> e.clockSynced() && e.timeCorrected()).count();
    }
}
