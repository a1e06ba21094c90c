package app.sevenstamp.autopilot.sink.ingest;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import app.sevenstamp.autopilot.protocol.EventKind;
import app.sevenstamp.autopilot.protocol.StampEvent;
import app.sevenstamp.autopilot.protocol.Topics;
import app.sevenstamp.autopilot.protocol.WireCodec;
import app.sevenstamp.autopilot.protocol.card.CardSigner;
import app.sevenstamp.autopilot.protocol.support.RedoLog;
import app.sevenstamp.autopilot.protocol.testing.PowerCutFs;
import app.sevenstamp.autopilot.protocol.testing.Vectors;
import app.sevenstamp.autopilot.sink.loyalty.Program;
import app.sevenstamp.autopilot.sink.loyalty.RewardPlan;
import app.sevenstamp.autopilot.sink.loyalty.StampRules;
import app.sevenstamp.autopilot.sink.metrics.SinkMetrics;
import app.sevenstamp.autopilot.sink.store.H2Database;
import app.sevenstamp.autopilot.sink.store.H2Snapshot;
import app.sevenstamp.autopilot.sink.store.LedgerHook;
import app.sevenstamp.autopilot.sink.store.SinkStore;
import app.sevenstamp.autopilot.sink.store.StoreException;
import app.sevenstamp.autopilot.sink.testing.TestIds;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.TreeSet;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The single-box sink's promise under a power cut: a stamp it acknowledged is counted after the
 * restart, and the store opens. A real store (H2), its snapshot and the ingest redo log run on
 * {@link PowerCutFs}; batches are decided, logged (that is when they would be acknowledged), with idle
 * periods past H2's RETENTION_TIME (200 ms here), checkpoints and clean restarts between. For each cut
 * point the disk is rebuilt as a power cut (or, every fourth, kill -9) would leave it, a new sink starts
 * on it as SinkServer does, and every acknowledged event must be in the store.
 *
 * <p>{@code -Dpowercut.seed=N} replays a run; {@code -Dpowercut.cuts=N} (default 150) cut points.
 */
@Tag("slow")
class IngestPowerCutTest {
    private static final long SEED = Long.getLong("powercut.seed", System.nanoTime());
    private static final int CUTS = Integer.getInteger("powercut.cuts", 150);
    private static final Instant T0 = Instant.parse("2026-11-23T08:00:00Z");
    private static final Program COFFEE = new Program("coffee", "Coffee", 10,
            new StampRules(Duration.ZERO, 0, Duration.ZERO, ZoneId.of("UTC")), RewardPlan.SIMPLE);

    private final Topics topics = new Topics(Topics.DEFAULT_PREFIX);
    private final WireCodec codec = new WireCodec();
    private final Clock clock = Clock.fixed(T0.plus(Duration.ofDays(1)), ZoneOffset.UTC);
    private final CardSigner signer = Vectors.signer();
    private final Map<String, Integer> acknowledgedAt = new HashMap<>();
    /** The last stamp's sequence number (one box). */
    private long seq;

    @TempDir
    Path dir;

    /** The H2 store, its redo log and snapshot, started the way SinkServer starts them. */
    private final class Sink implements AutoCloseable {
        final H2Database db;
        final SinkStore store;
        final IngestRedo redo;
        final EventProcessor processor;
        final IngestRedo.Snapshots snapshots;

        Sink(Path where, boolean recorded) throws Exception {
            RedoLog.FileOps files = recorded ? PowerCutFs.fileOps() : RedoLog.FILES;
            redo = IngestRedo.open(where.resolve("sink.ingest.redo"), files);
            H2Snapshot.Opened opened = H2Snapshot.openTrusted(where.resolve("sink"), () -> recorded
                    ? H2Database.open(where.resolve("sink"), 4, PowerCutFs.h2Prefix(), ";RETENTION_TIME=200")
                    : H2Database.open(where.resolve("sink"), 4), redo.generation(), redo.unfinishedFirstStart());
            db = opened.db();
            store = opened.store();
            snapshots = generation -> H2Snapshot.write(db, generation, files);
            if (redo.generation() == 0) {
                redo.checkpoint(snapshots);
            }
            processor = new EventProcessor(topics, Vectors.verifier(), Map.of("coffee", COFFEE), store, new SinkMetrics(),
                    clock, codec, DeviceGate.ANY, LedgerHook.NONE);
            if (redo.replayInto(processor) > 0 || opened.rebuilt()) {
                redo.checkpoint(snapshots);
            }
        }

        @Override
        public void close() throws Exception {
            redo.checkpoint(snapshots);
            store.close();
            redo.close();
        }
    }

    @Test
    void everyAcknowledgedStampSurvivesAPowerCutAtAnyPoint() throws Exception {
        System.out.println("IngestPowerCutTest seed=" + SEED + " cuts=" + CUTS + " (replay: -Dpowercut.seed=" + SEED + ")");
        Random random = new Random(SEED);
        PowerCutFs.Recorder recorder = PowerCutFs.recorder();
        int from = recorder.size();
        Path live = dir.resolve("live");
        Files.createDirectories(live);
        Sink sink = new Sink(live, true);
        try {
            for (int step = 0; step < 60; step++) {
                int what = random.nextInt(10);
                if (what < 7) {
                    batch(sink, random, recorder, from);
                } else if (what < 8) {
                    Thread.sleep(250); // past RETENTION_TIME: H2 writes into reused space from here
                } else if (what < 9) {
                    // as the ingest does when the log is long: the snapshot written while batches go on
                    IngestRedo.Mark mark = sink.redo.mark();
                    batch(sink, random, recorder, from);
                    long bytes = sink.snapshots.write(mark.generation());
                    batch(sink, random, recorder, from);
                    sink.redo.finish(mark, bytes);
                } else {
                    sink.close();
                    sink = new Sink(live, true);
                }
            }
        } finally {
            sink.close();
        }
        List<PowerCutFs.Op> ops = recorder.since(from);
        TreeSet<Integer> cuts = new TreeSet<>();
        while (cuts.size() < Math.min(CUTS, ops.size() + 1)) {
            cuts.add(random.nextInt(ops.size() + 1));
        }
        PowerCutFs.Disk disk = new PowerCutFs.Disk();
        int applied = 0;
        int checked = 0;
        List<String> failures = new ArrayList<>();
        for (int cut : cuts) {
            while (applied < cut) {
                disk.apply(ops.get(applied++));
            }
            boolean killNine = checked++ % 4 == 0;
            Path image = Files.createDirectory(dir.resolve("cut-" + cut));
            disk.cut(image, killNine, SEED ^ cut);
            String where = "cut after op " + cut + "/" + ops.size() + (killNine ? " (kill -9)" : "");
            try (Sink recovered = new Sink(image, false)) {
                Set<String> stored = storedEvents(recovered.db);
                List<String> lost = new ArrayList<>();
                for (Map.Entry<String, Integer> a : acknowledgedAt.entrySet()) {
                    if (a.getValue() <= cut && !stored.contains(a.getKey())) {
                        lost.add(a.getKey());
                    }
                }
                if (!lost.isEmpty()) {
                    failures.add(where + ": acknowledged and lost " + lost);
                }
            } catch (StoreException e) {
                failures.add(where + ": the store does not open: " + e.getMessage());
            }
            PowerCutFs.deleteImage(image);
        }
        System.out.println("IngestPowerCutTest: " + ops.size() + " operations, " + acknowledgedAt.size()
                + " stamps acknowledged (the first after op " + acknowledgedAt.values().stream().min(Integer::compare).orElse(-1)
                + "), " + checked + " cut points checked, " + failures.size() + " failed");
        assertEquals(List.of(), failures, "seed " + SEED);
        assertTrue(checked > 0);
    }

    /** One batch of one to five stamps, decided and logged: from then on the sink would answer them. */
    private void batch(Sink sink, Random random, PowerCutFs.Recorder recorder, int from) throws Exception {
        List<EventProcessor.Message> batch = new ArrayList<>();
        List<String> ids = new ArrayList<>();
        for (int i = 1 + random.nextInt(5); i > 0; i--) {
            seq++;
            String card = signer.sign("coffee", random.nextBoolean() ? "AAAAAAAAAAAAAAAA" : "BBBBBBBBBBBBBBBB");
            StampEvent e = new StampEvent(WireCodec.SCHEMA, TestIds.event("ev-" + seq), "counter-1", seq, card, "coffee",
                    card.split("\\.")[3], "shop-1", T0.plusSeconds(seq), seq, "boot", true, EventKind.STAMP);
            batch.add(new EventProcessor.Message(topics.stamps("counter-1"), codec.encode(e)));
            ids.add(e.eventId());
        }
        sink.processor.processBatch(batch);
        sink.redo.logged(batch); // from here the sink would answer and PUBACK
        List<PowerCutFs.Op> sofar = recorder.since(from);
        int durable = PowerCutFs.afterLastSync(sofar, sofar.size(), "sink.ingest.redo");
        for (String id : ids) {
            acknowledgedAt.put(id, durable);
        }
    }

    private static Set<String> storedEvents(H2Database db) throws Exception {
        Set<String> ids = new HashSet<>();
        try (Connection c = db.connection(); Statement st = c.createStatement();
             ResultSet rs = st.executeQuery("SELECT event_id FROM events")) {
            while (rs.next()) {
                ids.add(rs.getString(1));
            }
        }
        return ids;
    }


}
