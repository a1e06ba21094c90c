package app.sevenstamp.autopilot.gateway.outbox;

import app.sevenstamp.autopilot.protocol.EventIds;
import app.sevenstamp.autopilot.protocol.EventKind;
import app.sevenstamp.autopilot.protocol.WireCodec;
import app.sevenstamp.autopilot.protocol.support.RedoLog;
import java.lang.management.ManagementFactory;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;

/**
 * Not a test: the replay after a compaction as {@code Outbox.compactAndReopen} does it ({@code SHUTDOWN
 * COMPACT}, reopen, {@code reconcile} without the history lines), ROUNDS times, with STORED stamps in the redo
 * log of which the first ACKED are acknowledged and the rest wait in H2. Prints each replay's time and JVM
 * uptime (to find it in a {@code -Xlog:gc} log). Run: {@code java -cp ... ReplayBench DIR STORED ACKED
 * ROUNDS} (DIR empty; the drain peak: 105800 52800 3).
 */
public final class ReplayBench {
    private ReplayBench() {
    }

    public static void main(String[] args) throws Exception {
        Path dir = Path.of(args[0]);
        int stored = Integer.parseInt(args[1]);
        int acked = Integer.parseInt(args[2]);
        int rounds = Integer.parseInt(args[3]);
        WireCodec codec = new WireCodec();
        Instant t0 = Instant.parse("2026-12-04T09:00:00Z");
        List<String> ids = new ArrayList<>(stored);
        try (RedoLog log = RedoLog.open(dir.resolve("outbox.redo"), RedoLog.FILES)) {
            List<byte[]> batch = new ArrayList<>();
            for (int i = 1; i <= stored; i++) {
                String id = EventIds.next(t0.toEpochMilli() + i * 300L);
                ids.add(id);
                String card = String.format("CARD%08d", i % 5000);
                StampDraft d = new StampDraft(id, "counter-1", "7S1.k1.coffee." + card + ".sig" + "x".repeat(90),
                        "coffee", card, "shop-12", t0.plusMillis(i * 300L), i, "boot-1", true, EventKind.STAMP);
                byte[] payload = codec.encode(d.withSeq(i));
                batch.add(OutboxRedo.stored(new OutboxRedo.Stored(i, id, payload, t0.plusMillis(i * 300L), "boot-1", i,
                        true)));
                if (batch.size() == 1000) {
                    log.append(batch, false);
                    batch.clear();
                }
            }
            for (int i = 0; i < acked; i += 20) {
                batch.add(OutboxRedo.acked(ids.subList(i, Math.min(acked, i + 20))));
            }
            log.append(batch, true);
            ids = null;
            batch = null;
            String url = OutboxSchema.url(Outbox.Storage.FILES, dir.resolve("outbox"));
            OutboxSchema db = OutboxSchema.connect(url, false);
            long t = System.nanoTime();
            OutboxRedo.Replayed first = OutboxRedo.reconcile(db.connection, log.prefix(), codec, true, true);
            System.out.printf("fill: %s in %.2f s%n", first, (System.nanoTime() - t) / 1e9);
            for (int r = 0; r < rounds; r++) {
                db.misc.execute("SHUTDOWN COMPACT");
                db.connection.close();
                db = OutboxSchema.connect(url, true);
                System.gc();
                long up = ManagementFactory.getRuntimeMXBean().getUptime();
                t = System.nanoTime();
                OutboxRedo.Replayed r2 = OutboxRedo.reconcile(db.connection, log.prefix(), codec, false, true);
                System.out.printf("replay after compaction (uptime %.3f-%.3f s): %s in %.2f s%n", up / 1e3,
                        ManagementFactory.getRuntimeMXBean().getUptime() / 1e3, r2, (System.nanoTime() - t) / 1e9);
            }
            db.connection.close();
        }
    }
}
