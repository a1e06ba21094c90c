package app.sevenstamp.autopilot.gateway.outbox;

import app.sevenstamp.autopilot.gateway.testing.Backlog;
import app.sevenstamp.autopilot.protocol.WireCodec;
import app.sevenstamp.autopilot.protocol.support.RedoLog;
import java.nio.file.*;
import java.time.Clock;
import java.util.ArrayList;
import java.util.List;

public final class StartPhasesScratch {
    public static void main(String[] a) throws Exception {
        Path dir = Path.of(a[0]);
        int n = Integer.parseInt(a[1]);
        if (!Files.exists(dir.resolve("outbox.redo"))) {
            List<String> cards = new ArrayList<>();
            for (int i = 0; i < 100; i++) cards.add("7S1.k1.coffee.CARD" + String.format("%08d", i) + ".sig" + "x".repeat(86));
            Backlog.fill(dir, n, cards, "c1", "shop");
            System.out.println("filled");
            return;
        }
        for (int round = 0; round < 3; round++) {
            long t0 = System.nanoTime();
            RedoLog redo = RedoLog.open(dir.resolve("outbox.redo"), RedoLog.FILES);
            long t1 = System.nanoTime();
            OutboxSalvage.Probe p = OutboxSalvage.probe(Outbox.Storage.FILES, dir.resolve("outbox"));
            long t2 = System.nanoTime();
            OutboxSchema db = OutboxSchema.connect(OutboxSchema.url(Outbox.Storage.FILES, dir.resolve("outbox")), true);
            long t3 = System.nanoTime();
            OutboxRedo.Replayed r = OutboxRedo.reconcile(db.connection, redo.prefix(), new WireCodec(), true, true, p.rows());
            long t4 = System.nanoTime();
            db.connection.close();
            redo.close();
            long t5 = System.nanoTime();
            t5 = System.nanoTime();
            Outbox o = Outbox.open(dir, Clock.systemUTC());
            long t6 = System.nanoTime();
            o.close(java.time.Duration.ofSeconds(30));
            System.out.printf("redo open %d ms, probe %d, connect %d, reconcile %d (%s), close %d, Outbox.open %d ms%n",
                (t1-t0)/1000000, (t2-t1)/1000000, (t3-t2)/1000000, (t4-t3)/1000000, r, (t5-t4)/1000000, (t6-t5)/1000000);
        }
    }
}
