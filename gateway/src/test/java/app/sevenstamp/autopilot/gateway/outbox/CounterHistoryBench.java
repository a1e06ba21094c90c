package app.sevenstamp.autopilot.gateway.outbox;

import app.sevenstamp.autopilot.protocol.EventIds;
import app.sevenstamp.autopilot.protocol.EventKind;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Instant;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Not a test: what the counter_history line costs on the append path. Appends STAMP drafts (outbox row +
 * history line, one commit, one CHECKPOINT SYNC) and REDEEM drafts (outbox row only, the same code
 * otherwise), interleaved in rounds so that disk weather hits both alike, then times the start-up read of
 * the history. Run: {@code java -cp ... CounterHistoryBench [appendsPerKind] [dir]}.
 */
public final class CounterHistoryBench {
    private CounterHistoryBench() {
    }

    public static void main(String[] args) throws Exception {
        int n = args.length > 0 ? Integer.parseInt(args[0]) : 2000;
        Path dir = args.length > 1 ? Path.of(args[1]) : Files.createTempDirectory("history-bench");
        Clock clock = Clock.systemUTC();
        try (Outbox outbox = Outbox.open(dir, clock)) {
            long[] stamp = new long[n];
            long[] redeem = new long[n];
            int cards = 500;
            for (int warm = 0; warm < 200; warm++) {
                time(outbox, draft(clock, warm % cards, warm % 2 == 0 ? EventKind.STAMP : EventKind.REDEEM));
            }
            for (int i = 0; i < n; i++) {
                // alternate which kind goes first in a round
                if (i % 2 == 0) {
                    stamp[i] = time(outbox, draft(clock, i % cards, EventKind.STAMP));
                    redeem[i] = time(outbox, draft(clock, i % cards, EventKind.REDEEM));
                } else {
                    redeem[i] = time(outbox, draft(clock, i % cards, EventKind.REDEEM));
                    stamp[i] = time(outbox, draft(clock, i % cards, EventKind.STAMP));
                }
            }
            report("append with history line (STAMP)", stamp);
            report("append without (REDEEM)         ", redeem);
            long t0 = System.nanoTime();
            List<Outbox.CounterStamp> h = outbox.counterHistory(Instant.EPOCH).get(30, TimeUnit.SECONDS);
            System.out.printf("start-up read of counter_history: %d lines in %.1f ms; file %d KB%n", h.size(),
                    (System.nanoTime() - t0) / 1e6, Files.size(dir.resolve("outbox.mv.db")) / 1024);
        }
    }

    private static StampDraft draft(Clock clock, int card, EventKind kind) {
        Instant now = clock.instant();
        String cardId = String.format("CARD%012d", card).replace('0', 'A').replace('1', 'B').replace('8', 'C')
                .replace('9', 'D');
        return new StampDraft(EventIds.next(now.toEpochMilli()), "bench-1", "7S1.k1.coffee." + cardId + ".sig", "coffee",
                cardId, "shop", now, System.nanoTime(), "boot", true, kind);
    }

    private static long time(Outbox outbox, StampDraft d) throws Exception {
        long t0 = System.nanoTime();
        outbox.append(d).get(10, TimeUnit.SECONDS);
        return System.nanoTime() - t0;
    }

    private static void report(String what, long[] nanos) {
        long[] s = nanos.clone();
        Arrays.sort(s);
        double mean = Arrays.stream(s).average().orElse(0) / 1000;
        System.out.printf("%s: n=%d mean %.0f us, p50 %d us, p90 %d us, p99 %d us, max %d us%n", what, s.length, mean,
                s[s.length / 2] / 1000, s[(int) (s.length * 0.9)] / 1000, s[(int) (s.length * 0.99)] / 1000,
                s[s.length - 1] / 1000);
    }
}
