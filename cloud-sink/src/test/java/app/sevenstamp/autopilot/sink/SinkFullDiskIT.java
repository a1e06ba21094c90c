package app.sevenstamp.autopilot.sink;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import app.sevenstamp.autopilot.protocol.AckOutcome;
import app.sevenstamp.autopilot.protocol.EventKind;
import app.sevenstamp.autopilot.protocol.StampAck;
import app.sevenstamp.autopilot.protocol.StampEvent;
import app.sevenstamp.autopilot.protocol.Topics;
import app.sevenstamp.autopilot.protocol.WireCodec;
import app.sevenstamp.autopilot.protocol.card.CardSigner;
import app.sevenstamp.autopilot.protocol.testing.SmallDisk;
import app.sevenstamp.autopilot.protocol.testing.Vectors;
import app.sevenstamp.autopilot.protocol.support.RedoLog;
import app.sevenstamp.autopilot.sink.store.H2Database;
import app.sevenstamp.autopilot.sink.store.H2Snapshot;
import app.sevenstamp.autopilot.sink.store.SinkStore;
import app.sevenstamp.autopilot.sink.store.StoreException;
import app.sevenstamp.autopilot.sink.testing.TestSink;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.stream.Stream;
import org.eclipse.paho.client.mqttv3.MqttClient;
import org.eclipse.paho.client.mqttv3.MqttException;
import org.eclipse.paho.client.mqttv3.persist.MemoryPersistence;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The disk under the single-shop sink's H2 store fills up (a log, a backup, another program). H2 closes the
 * database after a write it could not make and keeps it closed, even once there is room again: every batch fails.
 * The watchdog's store probe asked JDBC's {@code isValid}, which H2 still answers true then, so systemd kept feeding
 * a sink that answered no stamp until someone restarted it. The probe now runs a statement, so the watchdog stops and
 * systemd kills the sink and starts it again. A start on the full disk failed to open the good store and moved it
 * aside to rebuild it, which failed too; the first start with room then rebuilt it from the snapshot, losing what the
 * ingest log does not hold. Now a start waits for room, the store left as it is, and opens it once there is room.
 */
class SinkFullDiskIT {
    private static final Topics TOPICS = new Topics(Topics.DEFAULT_PREFIX);
    private static final WireCodec CODEC = new WireCodec();

    @TempDir
    Path dir;

    @Test
    void aSinkWhoseDiskFilledFailsItsHealthCheckAndItsNextStartGoesOnOnceThereIsRoom() throws Exception {
        String card = Vectors.signer().sign("coffee", CardSigner.newCardId(new SecureRandom()));
        try (SmallDisk disk = SmallDisk.mount(dir.resolve("disk"), "48m")) {
            TestSink config = TestSink.in(dir).vectorKey().program("coffee", 10)
                    .set("store.dir", disk.path().resolve("store").toString());
            try (SinkServer sink = config.start(); Box box = new Box(sink.brokerUrl(), card)) {
                assertTrue(sink.awaitIngestReady(Duration.ofSeconds(15)));
                assertEquals(AckOutcome.ACCEPTED, box.send(1).outcome());
                assertEquals(Optional.empty(), sink.healthCheck().firstProblem());

                disk.fill();
                box.publish(2);
                assertNull(box.acks.poll(3, TimeUnit.SECONDS), "answered a stamp that could not be stored");
                await("the watchdog's probe sees the store fail").atMost(Duration.ofSeconds(10))
                        .until(() -> sink.healthCheck().firstProblem().isPresent());
                assertTrue(sink.healthCheck().firstProblem().get().startsWith("store"),
                        sink.healthCheck().firstProblem().get());
            }
            // systemd kills it once the watchdog is no longer fed, and starts it again: while the disk is still full,
            // the start waits, the store left as it is (before, each start moved the last file aside to rebuild it and
            // failed, and after ten systemd gave up)
            Path storeDir = disk.path().resolve("store");
            long storeBytes = Files.size(storeDir.resolve("sink.mv.db"));
            ExecutorService systemd = Executors.newSingleThreadExecutor();
            try {
                Future<SinkServer> restart = systemd.submit(() -> config.start());
                assertThrows(TimeoutException.class, () -> restart.get(3, TimeUnit.SECONDS), "started on a full disk");
                assertEquals(storeBytes, Files.size(storeDir.resolve("sink.mv.db")));
                assertEquals(List.of(), asideFiles(storeDir));
                disk.free();
                // once there is room, within a second: the store as it was, not rebuilt from the snapshot
                try (SinkServer sink = restart.get(30, TimeUnit.SECONDS); Box box = new Box(sink.brokerUrl(), card)) {
                    assertEquals(List.of(), asideFiles(storeDir));
                    assertTrue(sink.awaitIngestReady(Duration.ofSeconds(15)));
                    StampAck resent = box.send(2); // the box's resend of the stamp that was never answered
                    assertTrue(resent.outcome() != AckOutcome.REJECTED, resent.toString());
                    assertEquals(AckOutcome.ACCEPTED, box.send(3).outcome());
                    assertEquals(AckOutcome.DUPLICATE, box.send(1).outcome(), "the stamp stored before the disk filled");
                    assertEquals(Optional.empty(), sink.healthCheck().firstProblem());
                }
            } finally {
                systemd.shutdownNow();
            }
        }
    }

    /**
     * A store to be rebuilt from its snapshot (H2 cannot open it, or it came back older) on a disk that filled since the
     * start waited for room: it is left as it is, not moved aside for a rebuild that would fail half-way.
     */
    @Test
    void aStoreIsNotMovedAsideToBeRebuiltOnAFullDisk() throws Exception {
        try (SmallDisk disk = SmallDisk.mount(dir.resolve("disk"), "48m")) {
            Path file = disk.path().resolve("sink");
            H2Database db = H2Database.open(file, 2);
            try (SinkStore store = SinkStore.open(db)) {
                H2Snapshot.write(db, 1, RedoLog.FILES);
            }
            long storeBytes = Files.size(Path.of(file + ".mv.db"));
            disk.fill();
            StoreException refused = assertThrows(StoreException.class, () -> H2Snapshot.restore(file, "the test's"));
            assertTrue(refused.getMessage().contains("Nothing was moved or rebuilt"), refused.getMessage());
            assertEquals(storeBytes, Files.size(Path.of(file + ".mv.db")));
            assertEquals(List.of(), asideFiles(disk.path()));
        }
    }

    /** Stores moved aside by a rebuild ({@code sink.rolled-back-*}) or a first start's ({@code sink.unfinished-*}). */
    private static List<String> asideFiles(Path storeDir) throws IOException {
        try (Stream<Path> files = Files.list(storeDir)) {
            return files.map(f -> f.getFileName().toString()).filter(n -> n.contains("rolled-back") || n.contains("unfinished"))
                    .sorted().toList();
        }
    }

    /** A counter box on the sink's broker: its stamps of one card, numbered by seq, and its answers. */
    private static final class Box implements AutoCloseable {
        final BlockingQueue<StampAck> acks = new LinkedBlockingQueue<>();
        private final MqttClient client;
        private final String card;

        Box(String brokerUrl, String card) throws MqttException {
            this.card = card;
            client = new MqttClient(brokerUrl, "counter-1", new MemoryPersistence());
            client.connect();
            client.subscribe(TOPICS.acks("counter-1"), 1, (t, m) -> acks.add(CODEC.decodeAck(m.getPayload())));
        }

        void publish(long seq) throws MqttException {
            String[] parts = card.split("\\.");
            StampEvent e = new StampEvent(WireCodec.SCHEMA, String.format("f011d15c-0000-4000-8000-%012d", seq), "counter-1",
                    seq, card, parts[2], parts[3], "shop-1", Instant.parse("2026-12-07T08:00:00Z").plusSeconds(seq * 3600),
                    seq, "boot-1", true, EventKind.STAMP);
            client.publish(TOPICS.stamps("counter-1"), CODEC.encode(e), 1, false);
        }

        /** Publishes stamp {@code seq} and waits for its answer. */
        StampAck send(long seq) throws Exception {
            publish(seq);
            StampAck ack = acks.poll(15, TimeUnit.SECONDS);
            assertNotNull(ack, "no answer to stamp " + seq);
            assertEquals(String.format("f011d15c-0000-4000-8000-%012d", seq), ack.eventId());
            return ack;
        }

        @Override
        public void close() throws MqttException {
            if (client.isConnected()) {
                client.disconnect(500);
            }
            client.close();
        }
    }
}
