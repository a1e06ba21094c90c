package app.sevenstamp.autopilot.gateway.outbox;

import app.sevenstamp.autopilot.gateway.support.Ticker;
import app.sevenstamp.autopilot.protocol.EventIds;
import app.sevenstamp.autopilot.protocol.EventKind;
import app.sevenstamp.autopilot.protocol.support.RedoLog;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Instant;
import java.util.concurrent.TimeUnit;

/**
 * Not a test: bytes written to the storage layer per stamp by the outbox alone (this process's
 * {@code /proc/self/io} write_bytes), and an append's time to its sync, for an append followed by its acknowledged
 * delete, one stamp every {@code paceMs}, with H2's settings as shipped and with the variants given as arguments (H2 URL settings,
 * e.g. {@code ";PAGE_SIZE=4096"}). What motivated each change of the outbox's H2 settings
 * (docs/perf/drain-and-writes.md). Run: {@code java -cp ... OutboxWriteBench stamps paceMs deleteEvery [settings...]}.
 */
public final class OutboxWriteBench {
    private OutboxWriteBench() {
    }

    public static void main(String[] args) throws Exception {
        int n = args.length > 0 ? Integer.parseInt(args[0]) : 200;
        int paceMs = args.length > 1 ? Integer.parseInt(args[1]) : 100;
        int deleteEvery = args.length > 2 ? Integer.parseInt(args[2]) : 1;
        java.util.List<String> variants = new java.util.ArrayList<>();
        variants.add("");
        for (int i = 3; i < args.length; i++) {
            variants.add(args[i]);
        }
        for (String settings : variants) {
            Path dir = Files.createTempDirectory("outbox-write-bench");
            Clock clock = Clock.systemUTC();
            Outbox.Storage storage = new Outbox.Storage("file:", settings, RedoLog.FILES, Outbox.REDO_REWRITE_BYTES);
            try (Outbox outbox = Outbox.open(dir, clock, Ticker.SYSTEM, OutboxLimits.DEFAULT, storage)) {
                for (int i = 0; i < 20; i++) { // warm-up: schema, first pages
                    StoredEvent e = outbox.append(draft(clock, i)).get();
                    outbox.delete(e.seq(), e.eventId()).get();
                }
                long w0 = writeBytes();
                java.util.List<StoredEvent> acked = new java.util.ArrayList<>();
                long[] appendNanos = new long[n];
                for (int i = 0; i < n; i++) {
                    long t = System.nanoTime();
                    StoredEvent e = outbox.append(draft(clock, i)).get(10, TimeUnit.SECONDS);
                    appendNanos[i] = System.nanoTime() - t;
                    acked.add(e);
                    if (acked.size() >= deleteEvery) {
                        java.util.List<java.util.concurrent.CompletableFuture<Boolean>> done = new java.util.ArrayList<>();
                        for (StoredEvent a : acked) {
                            done.add(outbox.delete(a.seq(), a.eventId()));
                        }
                        for (var d : done) {
                            d.get(10, TimeUnit.SECONDS);
                        }
                        acked.clear();
                    }
                    Thread.sleep(paceMs);
                }
                long w = writeBytes() - w0;
                java.util.Arrays.sort(appendNanos);
                System.out.printf("settings '%s': %.1f KB written per stamp (append + delete), %d stamps, one per %d ms, "
                        + "deletes in groups of %d; an append (to its sync) p50 %.2f ms, p99 %.2f ms, max %.2f ms%n", settings,
                        w / 1024.0 / n, n, paceMs, deleteEvery, appendNanos[n / 2] / 1e6, appendNanos[n * 99 / 100] / 1e6,
                        appendNanos[n - 1] / 1e6);
            }
        }
    }

    private static StampDraft draft(Clock clock, int card) {
        Instant now = clock.instant();
        String cardId = String.format("CARD%012d", card % 500).replace('0', 'A').replace('1', 'B');
        return new StampDraft(EventIds.next(now.toEpochMilli()), "bench-1",
                "7S1.k1.coffee." + cardId + ".c2lnbmF0dXJlc2lnbmF0dXJlc2lnbmF0dXJlc2lnbmF0dXJlc2lnbmF0dXJl", "coffee",
                cardId, "shop", now, System.nanoTime(), "boot", true, EventKind.STAMP);
    }

    private static long writeBytes() throws Exception {
        for (String line : Files.readAllLines(Path.of("/proc/self/io"))) {
            if (line.startsWith("write_bytes:")) {
                return Long.parseLong(line.replaceAll("\\D", ""));
            }
        }
        return -1;
    }
}
