package app.sevenstamp.autopilot.gateway.testing;

import app.sevenstamp.autopilot.gateway.outbox.Outbox;
import app.sevenstamp.autopilot.gateway.outbox.OutboxLimits;
import app.sevenstamp.autopilot.gateway.outbox.StampDraft;
import app.sevenstamp.autopilot.gateway.outbox.StoredEvent;
import app.sevenstamp.autopilot.gateway.support.Ticker;
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

/**
 * The backlog of a box that was offline: appended through the outbox as the box appends (its redo log, synced a
 * thousand at a time, and its H2 file), so that the gateway's next start reads it as it would on a counter. The
 * stamps are scanned at a counter's 1,000 a day up to now, and the outbox's wall clock and ticker go with them, so
 * that its counter history is pruned along the way as on a counter (a day of it kept, not the whole backlog, which
 * the next start would load into the counter rules and then prune, 500 lines an append).
 */
public final class Backlog {
    private static final long SPACING_MILLIS = 86_400;

    private Backlog() {
    }

    /**
     * Appends {@code n} stamps of {@code cards} (signed codes, used in turn) to the outbox in {@code outbox} as the
     * box {@code deviceId} at {@code location}; the outbox is closed afterwards, once a compaction it started is done.
     */
    public static void fill(Path outbox, int n, List<String> cards, String deviceId, String location) throws Exception {
        Instant first = Instant.now().minusMillis(n * SPACING_MILLIS);
        MutableClock clock = new MutableClock(first);
        // the box's monotonic time goes with its wall clock here (+1: the history takes 0 for "never pruned")
        Ticker ticker = () -> TimeUnit.MILLISECONDS.toNanos(clock.millis() - first.toEpochMilli()) + 1;
        Outbox o = Outbox.open(outbox, clock, ticker, OutboxLimits.DEFAULT);
        try {
            List<CompletableFuture<StoredEvent>> appended = new ArrayList<>();
            for (int i = 0; i < n; i++) {
                String code = cards.get(i % cards.size());
                String[] parts = code.split("\\.");
                Instant scanned = clock.instant();
                appended.add(o.append(new StampDraft(EventIds.next(scanned.toEpochMilli()), deviceId, code, parts[2],
                        parts[3], location, scanned, System.nanoTime(), "backlog-boot", true, EventKind.STAMP)));
                if (appended.size() == 1000 || i == n - 1) {
                    for (CompletableFuture<StoredEvent> f : appended) {
                        f.get();
                    }
                    appended.clear();
                }
                clock.advance(Duration.ofMillis(SPACING_MILLIS));
            }
        } finally {
            // a compaction the appends started (a file past a quarter of outbox.maxBytes with garbage in it) runs on a
            // thread of its own, and close waits for it: the 2 s of close() left one copying a file that the gateway then
            // opened (a box's JVM exits after its close, and the compaction with it)
            o.close(Duration.ofMinutes(5));
        }
    }
}
