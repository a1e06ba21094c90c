package app.sevenstamp.autopilot.gateway.outbox;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import app.sevenstamp.autopilot.protocol.EventIds;
import app.sevenstamp.autopilot.protocol.EventKind;
import app.sevenstamp.autopilot.protocol.WireCodec;
import app.sevenstamp.autopilot.protocol.support.RedoLog;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The replay of the redo log restores exactly the stored rows not acknowledged that H2 lacks, whatever form
 * their ids take: an acknowledgement of one spelling of a UUID does not hide a row logged under another.
 */
class OutboxRedoReplayTest {
    private static final Instant T0 = Instant.parse("2026-12-04T09:00:00Z");
    private static final WireCodec CODEC = new WireCodec();

    @TempDir
    Path dir;

    @ParameterizedTest(name = "the probe's rows: {0}")
    @ValueSource(booleans = {true, false})
    void restoresEveryRowNotAcknowledgedWhateverItsIdsForm(boolean probed) throws Exception {
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
                OutboxRedo.Replayed replayed = replay(db, log, true, probed);
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
    @ParameterizedTest(name = "the probe's rows: {0}")
    @ValueSource(booleans = {true, false})
    void linesAreLookedUpForRowsH2LacksAndAfterASalvageForEveryRow(boolean probed) throws Exception {
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
                        insertRow(db, stored(seq, ids.get(seq - 1)));
                    }
                    db.connection.commit();
                    OutboxRedo.Replayed replayed = replay(db, log, linesWithRows, probed);
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

    /**
     * The replay looks logged rows up in runs, a range of numbers each, or one by one where a run's numbers are
     * far apart. Here the log holds two runs and a half of waiting rows in order, one of them logged twice within
     * its run, then 30 far apart; H2 holds every third row, the first and last of each run, every other far one,
     * one row under another event's id and one the log lacks. Exactly the rows H2 lacks are put back, once each,
     * and the row H2 holds under another id stays as it is.
     */
    @ParameterizedTest(name = "the probe's rows: {0}")
    @ValueSource(booleans = {true, false})
    void logsLongerThanARunAndNumbersFarApartRestoreExactlyWhatH2Lacks(boolean probed) throws Exception {
        int run = OutboxRedo.LOOK_UP_RUN;
        List<OutboxRedo.Stored> logged = new ArrayList<>();
        for (int seq = 1; seq <= 2 * run + run / 2; seq++) {
            logged.add(stored(seq, EventIds.next(T0.toEpochMilli() + seq)));
            if (seq == 7) {
                logged.add(logged.get(6)); // logged twice, as a rewrite beside new appends may log it
            }
        }
        for (int k = 1; k <= 30; k++) {
            logged.add(stored(10_000L * k, EventIds.next(T0.toEpochMilli() + 10_000 + k)));
        }
        Map<Long, String> inH2 = new TreeMap<>();
        for (OutboxRedo.Stored s : logged) {
            long seq = s.seq();
            if (seq < 10_000 ? seq % 3 == 0 || seq % run <= 1 : seq % 20_000 == 0) {
                inH2.put(seq, s.eventId());
            }
        }
        String other = EventIds.next(T0.toEpochMilli() + 999);
        inH2.put(300L, other);
        inH2.put(5_000L, EventIds.next(T0.toEpochMilli() + 998)); // a row the log does not have
        Map<Long, String> expected = new TreeMap<>(inH2);
        for (OutboxRedo.Stored s : logged) {
            expected.putIfAbsent(s.seq(), s.eventId());
        }

        try (RedoLog log = RedoLog.open(dir.resolve("outbox.redo"), RedoLog.FILES)) {
            List<byte[]> records = new ArrayList<>();
            for (OutboxRedo.Stored s : logged) {
                records.add(OutboxRedo.stored(s));
            }
            log.append(records, true);
            OutboxSchema db = OutboxSchema.connect(OutboxSchema.url(Outbox.Storage.FILES, dir.resolve("outbox")), false);
            try {
                for (Map.Entry<Long, String> row : inH2.entrySet()) {
                    insertRow(db, stored(row.getKey(), row.getValue()));
                }
                db.connection.commit();
                OutboxRedo.Replayed replayed = replay(db, log, true, probed);
                assertEquals(expected.size() - inH2.size(), replayed.restored(), "each row H2 lacked, once");
                Map<Long, String> after = rowsInH2(db);
                assertEquals(expected, after);
                assertEquals(other, after.get(300L), "a row H2 holds under another id is not replaced");
            } finally {
                db.connection.close();
            }
        }
    }

    /**
     * Should the rows the damage probe read not be those the open holds (it read them read-only, just before), the
     * replay notices and looks rows up in H2 instead. Here H2 holds rows 1-10 and the log 1-20; one forged probe
     * read rows H2 lacks (11-15: the count after the replay gives it away), another missed rows H2 holds (6-10: H2
     * refuses the row the replay puts back). Either way rows 11-20 end up in H2 with their lines, once each.
     */
    @Test
    void aProbeThatReadOtherRowsThanH2HoldsIsCaughtAndTheRowsLookedUp() throws Exception {
        for (int probedUpTo : new int[] {15, 5}) {
            Path at = dir.resolve("probed-up-to-" + probedUpTo);
            Files.createDirectories(at);
            try (RedoLog log = RedoLog.open(at.resolve("outbox.redo"), RedoLog.FILES)) {
                List<OutboxRedo.Stored> logged = new ArrayList<>();
                for (int seq = 1; seq <= 20; seq++) {
                    logged.add(stored(seq, EventIds.next(T0.toEpochMilli() + seq)));
                }
                List<byte[]> records = new ArrayList<>();
                logged.forEach(s -> records.add(OutboxRedo.stored(s)));
                log.append(records, true);
                OutboxSchema db = OutboxSchema.connect(OutboxSchema.url(Outbox.Storage.FILES, at.resolve("outbox")), false);
                try {
                    for (int seq = 1; seq <= 10; seq++) {
                        insertRow(db, logged.get(seq - 1));
                        insertLine(db, seq);
                    }
                    db.connection.commit();
                    ProbedRows.Builder forged = new ProbedRows.Builder(probedUpTo);
                    for (int seq = 1; seq <= probedUpTo; seq++) {
                        forged.add(seq, logged.get(seq - 1).eventId());
                    }
                    OutboxRedo.Replayed replayed = OutboxRedo.reconcile(db.connection, log.prefix(), CODEC, true, true,
                            forged.build());
                    assertTrue(replayed.probeDisagreed(), "probed up to " + probedUpTo);
                    assertEquals(10, replayed.restored(), "rows 11-20 put back once, probed up to " + probedUpTo);
                    Map<Long, String> expected = new TreeMap<>();
                    logged.forEach(s -> expected.put(s.seq(), s.eventId()));
                    assertEquals(expected, rowsInH2(db), "probed up to " + probedUpTo);
                    List<String> lines = new ArrayList<>();
                    try (ResultSet rs = db.misc.executeQuery("SELECT card_id FROM counter_history ORDER BY card_id")) {
                        while (rs.next()) {
                            lines.add(rs.getString(1));
                        }
                    }
                    assertEquals(20, lines.size(), "one line a stamp, probed up to " + probedUpTo + ": " + lines);
                    assertEquals(20, new TreeSet<>(lines).size(), "probed up to " + probedUpTo + ": " + lines);
                } finally {
                    db.connection.close();
                }
            }
        }
    }

    /**
     * The probe keeps the rows' numbers and ids, whatever form the ids take, up to its limit; past it, none (the
     * replay looks them up in H2), and it still counts the rows with an unsynchronised clock.
     */
    @Test
    void theProbeKeepsEveryRowUpToItsLimitAndNoneBeyond() throws Exception {
        String v7 = EventIds.next(T0.toEpochMilli());
        List<String> ids = List.of(v7, v7.toUpperCase(Locale.ROOT), "1-1-1-1-1", new java.util.UUID(0, 0).toString(),
                "e-1", EventIds.next(T0.toEpochMilli() + 1));
        OutboxSchema db = OutboxSchema.connect(OutboxSchema.url(Outbox.Storage.FILES, dir.resolve("outbox")), false);
        try {
            List<OutboxRedo.Stored> rows = new ArrayList<>();
            for (int i = 0; i < ids.size(); i++) {
                OutboxRedo.Stored s = stored(10L * (i + 1), ids.get(i));
                rows.add(i % 2 == 0 ? s : new OutboxRedo.Stored(s.seq(), s.eventId(), s.payload(), s.createdAt(),
                        s.bootId(), s.mono(), false));
                insertRow(db, rows.get(i));
            }
            db.connection.commit();
            List<OutboxRedo.Logged> asked = new ArrayList<>();
            for (OutboxRedo.Stored s : rows) {
                asked.add(OutboxRedo.Logged.of(s.seq(), s.eventId(), OutboxRedo.stored(s)));
            }
            asked.add(OutboxRedo.Logged.of(15, "e-2", OutboxRedo.stored(stored(15, "e-2"))));
            Map<Long, String> expected = new TreeMap<>();
            rows.forEach(s -> expected.put(s.seq(), s.eventId()));
            OutboxSalvage.Probe within = OutboxSalvage.readRows(db.misc, ids.size());
            assertEquals(3, within.unsyncedRows());
            assertEquals(ids.size(), within.rows().size());
            assertEquals(expected, new TreeMap<>(within.rows().holders(asked, new boolean[asked.size()])),
                    "each number's id as stored; 15 none");
            boolean[] held = within.rows().heldAsLogged(asked);
            for (int k = 0; k < rows.size(); k++) {
                assertTrue(held[k], "seq " + rows.get(k).seq() + " is held as logged");
            }
            assertFalse(held[rows.size()], "15 is not held");
            OutboxRedo.Stored first = rows.get(0);
            java.util.UUID v7bits = java.util.UUID.fromString(v7);
            String lowHalfAway = new java.util.UUID(v7bits.getMostSignificantBits(), v7bits.getLeastSignificantBits() ^ 1)
                    .toString();
            assertArrayEquals(new boolean[] {false, false, false}, within.rows().heldAsLogged(List.of(
                    OutboxRedo.Logged.of(first.seq(), ids.get(3), OutboxRedo.stored(first)),
                    OutboxRedo.Logged.of(first.seq(), lowHalfAway, OutboxRedo.stored(first)),
                    OutboxRedo.Logged.of(first.seq(), first.eventId().toUpperCase(Locale.ROOT), OutboxRedo.stored(first)))),
                    "the same number with another id, or the same id spelled otherwise, is not held as logged");
            assertEquals(Map.of(), within.rows().holders(asked, held).entrySet().stream()
                    .filter(e -> e.getKey() != 15).collect(java.util.stream.Collectors.toMap(Map.Entry::getKey,
                            Map.Entry::getValue)), "those held as logged are left out");

            OutboxSalvage.Probe beyond = OutboxSalvage.readRows(db.misc, ids.size() - 1);
            assertNull(beyond.rows(), "past the limit no rows are kept");
            assertEquals(3, beyond.unsyncedRows());
        } finally {
            db.connection.close();
        }
    }

    /**
     * A rewritten log holds every counter_history line H2 had, and the replay checks them a run at a time against one
     * read of the stamped_at index. Here 3,000 lines, two of them the same line twice, every other line a day after its
     * neighbours (so that a run's times span more lines than that read gives, and the lines it misses are looked up
     * one by one), and H2 loses every seventh line and every line of one card: after the replay H2 holds each line
     * exactly as often as before, whatever each line's way back.
     */
    @Test
    void aRewrittenLogsLinesArePutBackExactlyWhereH2LacksThem() throws Exception {
        OutboxSchema db = OutboxSchema.connect(OutboxSchema.url(Outbox.Storage.FILES, dir.resolve("outbox")), false);
        try (RedoLog log = RedoLog.open(dir.resolve("outbox.redo"), RedoLog.FILES)) {
            List<String> expected = new ArrayList<>();
            try (var st = db.connection.prepareStatement(CounterHistory.INSERT_LINE)) {
                for (int i = 0; i < 3_000; i++) {
                    // milliseconds: counter_history keeps a time as TIMESTAMP(3)
                    Instant at = T0.plusSeconds(i % 2 == 0 ? i : 86_400 + i).plusMillis(i % 3);
                    int copies = i == 10 || i == 1_001 ? 2 : 1;
                    for (int c = 0; c < copies; c++) {
                        insertLine(st, "CARD" + i % 40, at);
                        expected.add(i % 40 + " " + at);
                    }
                }
            }
            db.connection.commit();
            OutboxRedo.rewrite(db.connection, log);
            int lost = db.misc.executeUpdate("DELETE FROM counter_history WHERE card_id = 'CARD7' OR "
                    + "MOD(EXTRACT(EPOCH FROM stamped_at), 7) = 0");
            db.connection.commit();
            assertTrue(lost > 200, "lines lost: " + lost);

            OutboxRedo.reconcile(db.connection, log.prefix(), CODEC, true, true, null);
            List<String> lines = new ArrayList<>();
            try (ResultSet rs = db.misc.executeQuery("SELECT card_id, stamped_at FROM counter_history")) {
                while (rs.next()) {
                    lines.add(rs.getString(1).substring(4) + " "
                            + rs.getObject(2, java.time.OffsetDateTime.class).toInstant());
                }
            }
            List<String> missing = new ArrayList<>(expected);
            lines.forEach(missing::remove);
            List<String> extra = new ArrayList<>(lines);
            expected.forEach(extra::remove);
            assertEquals(List.of(), missing, "lines H2 lacks after the replay");
            assertEquals(List.of(), extra, "lines H2 holds more often than before");
        } finally {
            db.connection.close();
        }
    }

    /**
     * An acknowledged stamp's line comes back from its payload, whose device time has the clock's microseconds, while
     * counter_history keeps milliseconds (H2 rounds half up on insert). Each open replays the log: the line must be
     * found, not added again at every open (a second line of the same stamp counts twice against a daily cap).
     */
    @Test
    void anAcknowledgedStampsLineIsFoundThoughItsTimeIsFinerThanH2Keeps() throws Exception {
        OutboxSchema db = OutboxSchema.connect(OutboxSchema.url(Outbox.Storage.FILES, dir.resolve("outbox")), false);
        try (RedoLog log = RedoLog.open(dir.resolve("outbox.redo"), RedoLog.FILES)) {
            List<byte[]> records = new ArrayList<>();
            List<String> acked = new ArrayList<>();
            long[] micros = {123_456, 123_500, 999_700, 1, 0};
            try (var st = db.connection.prepareStatement(CounterHistory.INSERT_LINE)) {
                for (int i = 0; i < micros.length; i++) {
                    long seq = i + 1;
                    Instant at = T0.plusSeconds(seq).plusNanos(micros[i] * 1_000);
                    String id = EventIds.next(T0.toEpochMilli() + seq);
                    StampDraft draft = new StampDraft(id, "counter-1", "7S1.k1.coffee.CARD" + seq + ".sig", "coffee",
                            "CARD" + seq, "shop-12", at, seq, "boot-1", true, EventKind.STAMP);
                    records.add(OutboxRedo.stored(new OutboxRedo.Stored(seq, id, CODEC.encode(draft.withSeq(seq)), at,
                            "boot-1", seq, true)));
                    acked.add(id);
                    // as the append writes it: the same instant, which H2 keeps to the millisecond
                    insertLine(st, "CARD" + seq, at);
                }
            }
            db.connection.commit();
            records.add(OutboxRedo.acked(acked));
            log.append(records, true);
            for (int open = 1; open <= 3; open++) {
                OutboxRedo.reconcile(db.connection, log.prefix(), CODEC, true, true, null);
                try (ResultSet rs = db.misc.executeQuery("SELECT COUNT(*) FROM counter_history")) {
                    rs.next();
                    assertEquals(micros.length, rs.getLong(1), "lines after replay " + open);
                }
            }
        } finally {
            db.connection.close();
        }
    }

    /**
     * A stored record too short for its number and id (whole by its checksum, so a bug that wrote it, not a torn write)
     * stops the replay with an error: it is not read past its end into the next record.
     */
    @Test
    void aStoredRecordTooShortToHoldItsIdStopsTheReplay() throws Exception {
        OutboxSchema db = OutboxSchema.connect(OutboxSchema.url(Outbox.Storage.FILES, dir.resolve("outbox")), false);
        try (RedoLog log = RedoLog.open(dir.resolve("outbox.redo"), RedoLog.FILES)) {
            byte[] whole = OutboxRedo.stored(stored(1, EventIds.next(T0.toEpochMilli())));
            log.append(List.of(java.util.Arrays.copyOf(whole, 10), whole), true);
            java.io.UncheckedIOException e = org.junit.jupiter.api.Assertions.assertThrows(java.io.UncheckedIOException.class,
                    () -> OutboxRedo.reconcile(db.connection, log.prefix(), CODEC, true, true, null));
            assertTrue(e.getMessage().contains("10 bytes"), e.getMessage());
        } finally {
            db.connection.close();
        }
    }

    /**
     * The replay as an open runs it: with the rows the damage probe read (its one lazy query), or looking them up in
     * H2.
     */
    private static OutboxRedo.Replayed replay(OutboxSchema db, RedoLog log, boolean linesWithRows, boolean probed)
            throws Exception {
        ProbedRows rows = probed ? OutboxSalvage.readRows(db.misc, ProbedRows.MAX_ROWS).rows() : null;
        OutboxRedo.Replayed replayed = OutboxRedo.reconcile(db.connection, log.prefix(), CODEC, true, linesWithRows, rows);
        assertFalse(replayed.probeDisagreed(), "the probe read the rows H2 holds");
        return replayed;
    }

    /** The counter_history line of the stamp {@link #stored} makes at {@code seq}, as its append writes it. */
    private static void insertLine(OutboxSchema db, long seq) throws SQLException {
        try (var st = db.connection.prepareStatement(CounterHistory.INSERT_LINE)) {
            insertLine(st, "CARD" + seq, T0.plusMillis(seq));
        }
    }

    /** A coffee line of {@code card} at {@code at}, through {@link CounterHistory#INSERT_LINE} prepared as {@code st}. */
    private static void insertLine(java.sql.PreparedStatement st, String card, Instant at) throws SQLException {
        st.setString(1, "coffee");
        st.setString(2, card);
        st.setObject(3, java.time.OffsetDateTime.ofInstant(at, java.time.ZoneOffset.UTC));
        st.executeUpdate();
    }

    /** Each number H2 holds with its event id. */
    private static Map<Long, String> rowsInH2(OutboxSchema db) throws SQLException {
        Map<Long, String> rows = new TreeMap<>();
        try (ResultSet rs = db.misc.executeQuery("SELECT seq, event_id FROM outbox")) {
            while (rs.next()) {
                rows.put(rs.getLong(1), rs.getString(2));
            }
        }
        return rows;
    }

    /** A row as an append leaves it in H2, without its counter_history line. */
    private static void insertRow(OutboxSchema db, OutboxRedo.Stored s) throws SQLException {
        OutboxSchema.bindRow(db.insert, s);
        db.insert.executeUpdate();
    }

    private static OutboxRedo.Stored stored(long seq, String id) {
        String card = "CARD" + seq;
        StampDraft draft = new StampDraft(id, "counter-1", "7S1.k1.coffee." + card + ".sig", "coffee", card,
                "shop-12", T0.plusMillis(seq), seq, "boot-1", true, EventKind.STAMP);
        byte[] payload = CODEC.encode(draft.withSeq(seq));
        return new OutboxRedo.Stored(seq, id, payload, T0, "boot-1", seq, true);
    }
}
