package app.sevenstamp.autopilot.gateway.outbox;

import static org.junit.jupiter.api.Assertions.assertEquals;

import app.sevenstamp.autopilot.protocol.EventIds;
import app.sevenstamp.autopilot.protocol.EventKind;
import app.sevenstamp.autopilot.protocol.WireCodec;
import app.sevenstamp.autopilot.protocol.support.RedoLog;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.ResultSet;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.TreeSet;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The replay of the redo log into an empty H2 restores exactly the stored rows not acknowledged, whatever
 * form their ids take: an acknowledgement of one spelling of a UUID does not hide a row logged under another.
 */
class OutboxRedoReplayTest {
    private static final Instant T0 = Instant.parse("2026-12-04T09:00:00Z");
    private static final WireCodec CODEC = new WireCodec();

    @TempDir
    Path dir;

    @Test
    void restoresEveryRowNotAcknowledgedWhateverItsIdsForm() throws Exception {
        String canonical = "00000001-0001-0001-0001-000000000001";
        String v7 = EventIds.next(T0.toEpochMilli());
        List<String> ids = new ArrayList<>(List.of(canonical, "1-1-1-1-1", "000000001-001-0001-0001-000000000001",
                v7, v7.toUpperCase(Locale.ROOT), new java.util.UUID(0, 0).toString(), "e-1", "e-2"));
        for (int i = 0; i < 3_000; i++) {
            ids.add(EventIds.next(T0.toEpochMilli() + i));
        }
        // acknowledged: one spelling of each UUID above, and every other of the many
        List<String> acked = new ArrayList<>(List.of("1-1-1-1-1", v7, new java.util.UUID(0, 0).toString(), "e-2"));
        for (int i = 8; i < ids.size(); i += 2) {
            acked.add(ids.get(i));
        }
        Set<String> waiting = new TreeSet<>(ids);
        waiting.removeAll(acked);

        try (RedoLog log = RedoLog.open(dir.resolve("outbox.redo"), RedoLog.FILES)) {
            List<byte[]> records = new ArrayList<>();
            for (int i = 0; i < ids.size(); i++) {
                records.add(OutboxRedo.stored(stored(i + 1, ids.get(i))));
            }
            for (int from = 0; from < acked.size(); from += 100) {
                records.add(OutboxRedo.acked(acked.subList(from, Math.min(acked.size(), from + 100))));
            }
            log.append(records, true);

            OutboxSchema db = OutboxSchema.connect(OutboxSchema.url(Outbox.Storage.FILES, dir.resolve("outbox")), false);
            try {
                OutboxRedo.Replayed replayed = OutboxRedo.reconcile(db.connection, log.prefix(), CODEC, true, true);
                assertEquals(waiting.size(), replayed.restored());
                assertEquals(ids.size() + 1, replayed.nextSeq());
                Set<String> inH2 = new TreeSet<>();
                try (ResultSet rs = db.misc.executeQuery("SELECT event_id FROM outbox")) {
                    while (rs.next()) {
                        inH2.add(rs.getString(1));
                    }
                }
                assertEquals(waiting, inH2);
            } finally {
                db.connection.close();
            }
        }
    }

    /**
     * A stamp whose row H2 holds has its counter_history line (an append writes both in one transaction), so
     * the replay looks lines up only for the others; after a salvage, which stores rows without their lines, it
     * looks up every one. Here H2 holds rows 1-10 without their lines (as a salvage leaves them), row 11-20 are
     * only in the log, and 21-30 acknowledged.
     */
    @Test
    void linesAreLookedUpForRowsH2LacksAndAfterASalvageForEveryRow() throws Exception {
        for (boolean linesWithRows : new boolean[] {true, false}) {
            Path at = dir.resolve("lines-with-rows-" + linesWithRows);
            Files.createDirectories(at);
            try (RedoLog log = RedoLog.open(at.resolve("outbox.redo"), RedoLog.FILES)) {
                List<byte[]> records = new ArrayList<>();
                List<String> ids = new ArrayList<>();
                for (int seq = 1; seq <= 30; seq++) {
                    ids.add(EventIds.next(T0.toEpochMilli() + seq));
                    records.add(OutboxRedo.stored(stored(seq, ids.get(seq - 1))));
                }
                records.add(OutboxRedo.acked(ids.subList(20, 30)));
                log.append(records, true);
                OutboxSchema db = OutboxSchema.connect(OutboxSchema.url(Outbox.Storage.FILES, at.resolve("outbox")), false);
                try {
                    for (int seq = 1; seq <= 10; seq++) {
                        OutboxRedo.Stored s = stored(seq, ids.get(seq - 1));
                        db.misc.execute("INSERT INTO outbox (seq, event_id, payload, created_at, boot_id, mono_nanos, "
                                + "clock_synced) VALUES (" + seq + ", '" + s.eventId() + "', '" + s.payload().replace("'", "''")
                                + "', TIMESTAMP WITH TIME ZONE '2026-12-04 09:00:00Z', 'boot-1', " + seq + ", TRUE)");
                    }
                    db.connection.commit();
                    OutboxRedo.Replayed replayed = OutboxRedo.reconcile(db.connection, log.prefix(), CODEC, true, linesWithRows);
                    assertEquals(10, replayed.restored(), "rows 11-20 put back");
                    Set<Integer> cards = new TreeSet<>();
                    try (ResultSet rs = db.misc.executeQuery("SELECT card_id FROM counter_history")) {
                        while (rs.next()) {
                            cards.add(Integer.parseInt(rs.getString(1).substring("CARD".length())));
                        }
                    }
                    Set<Integer> expected = new TreeSet<>();
                    for (int seq = linesWithRows ? 11 : 1; seq <= 30; seq++) {
                        expected.add(seq);
                    }
                    assertEquals(expected, cards, "the stamps with a counter_history line, linesWithRows " + linesWithRows);
                } finally {
                    db.connection.close();
                }
            }
        }
    }

    private static OutboxRedo.Stored stored(long seq, String id) {
        String card = "CARD" + seq;
        StampDraft draft = new StampDraft(id, "counter-1", "7S1.k1.coffee." + card + ".sig", "coffee", card,
                "shop-12", T0.plusMillis(seq), seq, "boot-1", true, EventKind.STAMP);
        String payload = new String(CODEC.encode(draft.withSeq(seq)), StandardCharsets.UTF_8);
        return new OutboxRedo.Stored(seq, id, payload, T0, "boot-1", seq, true);
    }
}
