package app.sevenstamp.autopilot.gateway.outbox;

import static org.junit.jupiter.api.Assertions.assertEquals;

import app.sevenstamp.autopilot.protocol.EventIds;
import app.sevenstamp.autopilot.protocol.EventKind;
import app.sevenstamp.autopilot.protocol.testing.MutableClock;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The counter rules' memory is pruned in an append's transaction, so a scan pays for it. A box that was off for
 * longer than the rules' horizon finds all of its lines aged at its first scan: each append prunes at most
 * {@link CounterHistory#PRUNE_BATCH} of them, and the next appends go on until they are gone, not one scan all of
 * them (a backlog appended within seconds left 99,000 aged lines, and the first scan after the start waited 3.9 s for
 * them: docs/performance.md).
 */
class CounterHistoryPruneTest {
    private static final Instant T0 = Instant.parse("2026-11-02T08:00:00Z");

    @TempDir
    Path dir;

    private static StampDraft scan(int i, Instant at) {
        String card = String.format("CARD%012d", i % 200);
        return new StampDraft(EventIds.next(at.toEpochMilli()), "counter-1", "7S1.k1.coffee." + card + ".sig", "coffee",
                card, "shop-12", at, i, "boot-1", true, EventKind.STAMP);
    }

    @Test
    void afterAMonthOffTheAgedLinesGoAFewHundredAScan() throws Exception {
        MutableClock clock = new MutableClock(T0);
        AtomicLong ticker = new AtomicLong(1);
        int day = 1_200;
        try (Outbox outbox = Outbox.open(dir, clock, ticker::get, OutboxLimits.DEFAULT)) {
            List<CompletableFuture<StoredEvent>> appended = new ArrayList<>();
            for (int i = 0; i < day; i++) {
                appended.add(outbox.append(scan(i, T0)));
            }
            for (CompletableFuture<StoredEvent> f : appended) {
                f.get();
            }
            assertEquals(day, outbox.counterHistory(Instant.EPOCH).get().size());

            // a month later (the box's clock and monotonic time both moved on), the counter's first scans
            clock.advance(Duration.ofDays(30));
            ticker.addAndGet(TimeUnit.DAYS.toNanos(30));
            int left = day;
            for (int scan = 1; left > 0; scan++) {
                outbox.append(scan(day + scan, clock.instant())).get();
                left = Math.max(0, left - CounterHistory.PRUNE_BATCH);
                assertEquals(left + scan, outbox.counterHistory(Instant.EPOCH).get().size(),
                        "lines after scan " + scan + " of the day");
            }
            // pruned up: the next scan within the minute prunes nothing and keeps today's lines
            int today = (day + CounterHistory.PRUNE_BATCH - 1) / CounterHistory.PRUNE_BATCH;
            outbox.append(scan(2 * day, clock.instant())).get();
            assertEquals(today + 1, outbox.counterHistory(Instant.EPOCH).get().size());
        }
    }
}
