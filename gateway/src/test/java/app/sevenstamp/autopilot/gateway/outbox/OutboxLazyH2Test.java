package app.sevenstamp.autopilot.gateway.outbox;

import app.sevenstamp.autopilot.gateway.support.Ticker;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import app.sevenstamp.autopilot.protocol.EventIds;
import app.sevenstamp.autopilot.protocol.EventKind;
import app.sevenstamp.autopilot.protocol.testing.PowerCutFs;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.Statement;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.List;
import java.util.Random;
import java.util.ArrayList;
import java.sql.PreparedStatement;
import java.nio.charset.StandardCharsets;
import app.sevenstamp.autopilot.protocol.WireCodec;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * H2 writes lazily (WRITE_DELAY): what it committed may not be on disk at a crash. The redo log must
 * then hold everything H2 may lack, counter_history lines of acknowledged stamps included.
 */
class OutboxLazyH2Test {
    private static final Instant T0 = Instant.parse("2026-11-23T07:02:11.345Z");
    private final Clock clock = Clock.fixed(T0, ZoneOffset.UTC);

    @TempDir
    Path dir;

    private static StampDraft draft(int i) {
        String card = "CARD" + Integer.toString(1_000_000 + i, 36).toUpperCase();
        Instant at = T0.plusSeconds(i);
        return new StampDraft(EventIds.next(at.toEpochMilli()), "counter-1", "7S1.k1.coffee." + card + ".sig",
                "coffee", card, "shop-12", at, i, "boot-1", true, EventKind.STAMP);
    }

    /**
     * A stamp acknowledged before H2 wrote it (within WRITE_DELAY): after a crash H2 has neither its row
     * nor its counter_history line; the row is done with, the line must come back from the redo log.
     */
    @Test
    void theHistoryLineOfAnAcknowledgedStampThatH2LostComesBackFromTheRedoLog() throws Exception {
        Outbox outbox = Outbox.open(dir, clock);
        List<StoredEvent> stored = List.of(outbox.append(draft(1)).get(), outbox.append(draft(2)).get(),
                outbox.append(draft(3)).get());
        outbox.delete(stored.get(0).seq(), stored.get(0).eventId()).get();
        outbox.delete(stored.get(1).seq(), stored.get(1).eventId()).get();
        outbox.close(Duration.ofSeconds(5));

        // H2 as a crash within WRITE_DELAY leaves it: none of the three stamps written
        try (Connection c = DriverManager.getConnection(OutboxSchema.url(Outbox.Storage.FILES, dir.resolve("outbox")),
                "sa", "");
             Statement st = c.createStatement()) {
            st.execute("DELETE FROM counter_history");
            st.execute("DELETE FROM outbox");
            c.commit();
            st.execute("SHUTDOWN");
        }

        outbox = Outbox.open(dir, clock);
        try {
            assertEquals(List.of(stored.get(2).eventId()),
                    outbox.pending(0, 10).get().stream().map(StoredEvent::eventId).toList(), "the unacknowledged one");
            assertEquals(List.of("CARD" + Integer.toString(1_000_001, 36).toUpperCase(),
                    "CARD" + Integer.toString(1_000_002, 36).toUpperCase(),
                    "CARD" + Integer.toString(1_000_003, 36).toUpperCase()),
                    outbox.counterHistory(Instant.EPOCH).get().stream().map(Outbox.CounterStamp::cardId).toList(),
                    "every stamp's line, acknowledged ones included");
        } finally {
            outbox.close(Duration.ofSeconds(5));
        }
    }

    /**
     * A clock correction H2 had not written at a crash comes back from the redo log, found by the corrected
     * event's number (the outbox has no index on event ids).
     */
    @Test
    void aClockCorrectionThatH2LostComesBackFromTheRedoLog() throws Exception {
        Outbox outbox = Outbox.open(dir, clock);
        List<StoredEvent> stored = new ArrayList<>();
        for (int i = 1; i <= 3; i++) {
            String card = "CARD" + i;
            stored.add(outbox.append(new StampDraft(EventIds.next(T0.toEpochMilli()), "counter-1",
                    "7S1.k1.coffee." + card + ".sig", "coffee", card, "shop-12", T0, i * 1_000_000_000L, "boot-1", false,
                    EventKind.STAMP)).get());
        }
        assertEquals(3, outbox.correctClock("boot-1", T0.plusSeconds(3600), 10_000_000_000L, 500).get());
        outbox.close(Duration.ofSeconds(5));

        // H2 as a crash within WRITE_DELAY of the correction leaves it: the rows as they were appended
        try (Connection c = DriverManager.getConnection(OutboxSchema.url(Outbox.Storage.FILES, dir.resolve("outbox")),
                "sa", "");
             PreparedStatement undo = c.prepareStatement(
                     "UPDATE outbox SET payload = ?, clock_synced = FALSE WHERE seq = ?");
             Statement st = c.createStatement()) {
            for (StoredEvent e : stored) {
                undo.setString(1, new String(e.payload(), StandardCharsets.UTF_8));
                undo.setLong(2, e.seq());
                assertEquals(1, undo.executeUpdate());
            }
            c.commit();
            st.execute("SHUTDOWN");
        }

        outbox = Outbox.open(dir, clock);
        try {
            WireCodec codec = new WireCodec();
            List<Instant> times = new ArrayList<>();
            for (StoredEvent e : outbox.pending(0, 10).get()) {
                assertTrue(codec.decodeStampEvent(e.payload()).timeCorrected(), "seq " + e.seq());
                times.add(codec.decodeStampEvent(e.payload()).deviceTime());
            }
            // scanned at mono 1, 2, 3 s; the clock read T0 + 1 h at mono 10 s
            assertEquals(List.of(T0.plusSeconds(3600 - 9), T0.plusSeconds(3600 - 8), T0.plusSeconds(3600 - 7)), times);
            assertEquals(0, outbox.correctClock("boot-1", T0.plusSeconds(3600), 10_000_000_000L, 500).get(),
                    "nothing is left to correct");
        } finally {
            outbox.close(Duration.ofSeconds(5));
        }
    }

    /**
     * A rewrite of the redo log drops acknowledged stamps; their counter_history lines must not then live
     * in H2 alone, which writes lazily and syncs rarely (the rewritten log carries them, and H2 is synced
     * before the rename). A power cut right after the rename, with nothing unsynced reaching the disk,
     * must find every line.
     */
    @Test
    void aRewriteOfTheRedoLogKeepsEveryCounterHistoryLine() throws Exception {
        PowerCutFs.Recorder recorder = PowerCutFs.recorder();
        int from = recorder.size();
        Path live = dir.resolve("live");
        Outbox.Storage storage = new Outbox.Storage(PowerCutFs.h2Prefix(), "", PowerCutFs.fileOps(), 8 * 1024);
        Outbox outbox = Outbox.open(live, clock, Ticker.SYSTEM, OutboxLimits.DEFAULT, storage);
        int stamps = 0;
        int rename = -1;
        List<PowerCutFs.Op> ops;
        try {
            while (rename < 0) {
                StoredEvent e = outbox.append(draft(++stamps)).get();
                outbox.delete(e.seq(), e.eventId()).get();
                ops = recorder.since(from);
                for (int i = 0; i < ops.size() && rename < 0; i++) {
                    PowerCutFs.Op op = ops.get(i);
                    if (op.kind() == PowerCutFs.Kind.MOVE && op.target().endsWith("outbox.redo")) {
                        rename = i;
                    }
                }
                assertTrue(stamps < 1000, "the redo log was never rewritten");
            }
            ops = recorder.since(from);
        } finally {
            outbox.close(Duration.ofSeconds(5));
        }
        assertTrue(ops.stream().allMatch(op -> Path.of(op.file()).startsWith(live)), "only this run's files recorded");

        PowerCutFs.Disk disk = new PowerCutFs.Disk();
        for (int i = 0; i <= rename; i++) {
            disk.apply(ops.get(i));
        }
        Path image = Files.createDirectory(dir.resolve("cut"));
        disk.cut(image, new NothingUnsynced());
        Outbox recovered = Outbox.open(image, clock);
        try {
            assertEquals(stamps, recovered.counterHistory(Instant.EPOCH).get().size(),
                    "counter_history lines after a power cut right after the redo log's rewrite");
        } finally {
            recovered.close(Duration.ofSeconds(5));
        }
    }

    /** A power cut in which no unsynced write reached the disk. */
    private static final class NothingUnsynced extends Random {
        @Override
        public int nextInt(int bound) {
            return bound - 1;
        }
    }
}
