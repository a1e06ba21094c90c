package app.sevenstamp.autopilot.sink.ingest;

import app.sevenstamp.autopilot.protocol.testing.FreePorts;
import app.sevenstamp.autopilot.sink.store.LedgerHook;
import app.sevenstamp.autopilot.protocol.support.NoDelaySockets;
import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import app.sevenstamp.autopilot.protocol.AckOutcome;
import app.sevenstamp.autopilot.protocol.StampAck;
import app.sevenstamp.autopilot.protocol.Topics;
import app.sevenstamp.autopilot.protocol.WireCodec;
import app.sevenstamp.autopilot.protocol.support.MqttTls;
import app.sevenstamp.autopilot.protocol.testing.StallingProxy;
import app.sevenstamp.autopilot.protocol.testing.Vectors;
import app.sevenstamp.autopilot.sink.metrics.SinkMetrics;
import app.sevenstamp.autopilot.sink.broker.EmbeddedBroker;
import app.sevenstamp.autopilot.sink.loyalty.Program;
import app.sevenstamp.autopilot.sink.loyalty.RewardPlan;
import app.sevenstamp.autopilot.sink.loyalty.StampRules;
import app.sevenstamp.autopilot.sink.store.H2Database;
import app.sevenstamp.autopilot.sink.store.H2Snapshot;
import app.sevenstamp.autopilot.sink.store.SinkStore;
import app.sevenstamp.autopilot.protocol.support.RedoLog;
import app.sevenstamp.autopilot.sink.testing.FullDiskFs;
import app.sevenstamp.autopilot.sink.testing.TestIds;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.eclipse.paho.client.mqttv3.MqttClient;
import org.eclipse.paho.client.mqttv3.MqttConnectOptions;
import org.eclipse.paho.client.mqttv3.MqttException;
import org.eclipse.paho.client.mqttv3.persist.MemoryPersistence;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.api.parallel.Execution;
import org.junit.jupiter.api.parallel.ExecutionMode;

/** The connect loop against a broker that is not there yet, and one that restarts and forgets the session. */
@Execution(ExecutionMode.CONCURRENT) // mostly waiting out Paho's connection timeouts against a silent broker: runs beside the other ITs (pom.xml, failsafe)
class IngestServiceIT {
    private final Topics topics = new Topics(Topics.DEFAULT_PREFIX);
    private final WireCodec codec = new WireCodec();

    @TempDir
    Path dir;


    @Test
    void theFirstConnectIsRetriedAndABrokerThatLostTheSessionIsSubscribedAgain() throws Exception {
        int port = FreePorts.pick();
        String url = "tcp://127.0.0.1:" + port;
        SinkMetrics metrics = new SinkMetrics();
        try (SinkStore store = SinkStore.open(dir.resolve("sink"))) {
            EventProcessor processor = processor(store, metrics, DeviceGate.ANY, LedgerHook.NONE);
            try (IngestService ingest = start(url, processor, store, metrics)) {
                assertFalse(ingest.awaitSubscribed(Duration.ofMillis(300)), "no broker yet");
                try (EmbeddedBroker broker = EmbeddedBroker.start("127.0.0.1", port)) {
                    assertTrue(ingest.awaitSubscribed(Duration.ofSeconds(15)), "a failed first connect is retried");
                    assertEquals(AckOutcome.ACCEPTED, roundTrip(url, "event-1").outcome());
                }
                // The new broker is empty: no session, no subscription. Only a re-subscribe brings events back.
                try (EmbeddedBroker broker = EmbeddedBroker.start("127.0.0.1", port)) {
                    await().atMost(Duration.ofSeconds(15)).until(ingest::isSubscribed);
                    assertEquals(AckOutcome.ACCEPTED, roundTrip(url, "event-2").outcome());
                    ingest.close(); // while the broker is still there, as the sink stops
                }
            }
        }
        assertEquals(2, metrics.accepted());
    }

    /*
     * A broker (or a proxy, or a hostile host) that accepts the TCP connection and never answers the CONNECT:
     * Paho's connection timeout does not bound the CONNACK wait, and a connect still pending after our wait
     * made every later attempt fail as "connect already in progress", even once the broker answered.
     */
    @Test
    void aBrokerThatAcceptsAndNeverAnswersTheFirstConnectIsGivenUpOnAndRetried() throws Exception {
        SinkMetrics metrics = new SinkMetrics();
        try (SinkStore store = SinkStore.open(dir.resolve("sink"));
                EmbeddedBroker broker = EmbeddedBroker.start("127.0.0.1", 0);
                StallingProxy proxy = StallingProxy.silentFor(1, broker.url())) {
            EventProcessor processor = processor(store, metrics, DeviceGate.ANY, LedgerHook.NONE);
            try (IngestService ingest = start(proxy.url(), processor, store, metrics)) {
                // given up after twice Paho's 10 s connection timeout, then at most 1 s of backoff and 10 s to spare
                assertTrue(ingest.awaitSubscribed(Duration.ofSeconds(2 * 10 + 1 + 10)),
                        "the stalled first connect is given up and retried");
                assertEquals(2, proxy.accepted());
                assertEquals(0, proxy.silentOpen(), "the stalled connection is closed");
                assertEquals(AckOutcome.ACCEPTED, roundTrip(broker.url(), "event-1").outcome());
            }
        }
    }

    /**
     * The checks that need no transaction (device, JSON, card code) run on their own thread, ahead of the
     * ingest thread: while one batch's transaction is held open, the events behind it are checked already,
     * and once it commits every event is answered, in order.
     */
    @Test
    void theEventsBehindABatchAreCheckedWhileItCommits() throws Exception {
        SinkMetrics metrics = new SinkMetrics();
        AtomicInteger checked = new AtomicInteger();
        CountDownLatch inTransaction = new CountDownLatch(1);
        CountDownLatch release = new CountDownLatch(1);
        LedgerHook holdFirst = (tx, line) -> {
            inTransaction.countDown();
            try {
                assertTrue(release.await(30, TimeUnit.SECONDS), "the test never let the transaction go");
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        };
        DeviceGate counting = device -> {
            checked.incrementAndGet();
            return true;
        };
        try (SinkStore store = SinkStore.open(dir.resolve("sink"));
                EmbeddedBroker broker = EmbeddedBroker.start("127.0.0.1", 0)) {
            EventProcessor processor = processor(store, metrics, counting, holdFirst);
            try (IngestService ingest = start(broker.url(), processor, store, metrics)) {
                assertTrue(ingest.awaitSubscribed(Duration.ofSeconds(15)));
                try (TestGateway gateway = new TestGateway(broker.url())) {
                    gateway.publish("counter-1", event("held", 1));
                    assertTrue(inTransaction.await(10, TimeUnit.SECONDS), "the first event's transaction never began");
                    for (int i = 2; i <= 6; i++) {
                        gateway.publish("counter-1", event("behind-" + i, i));
                    }
                    // Before: the ingest thread checked each batch itself, so nothing behind the held one was checked.
                    await().atMost(Duration.ofSeconds(10)).until(() -> checked.get() == 6);
                    assertEquals(0, gateway.acks.size(), "nothing is answered before its transaction commits");
                    release.countDown();
                    assertEquals(List.of(TestIds.event("held"), TestIds.event("behind-2"), TestIds.event("behind-3"),
                            TestIds.event("behind-4"), TestIds.event("behind-5"), TestIds.event("behind-6")), gateway.accepted(6));
                } finally {
                    release.countDown();
                }
            }
        }
        assertEquals(6, metrics.accepted());
    }

    /**
     * A check that throws (a bug, not a bad message) costs its own event an answer, never the thread or the
     * events around it: the gateway sends that one again.
     */
    @Test
    void aCheckThatThrowsCostsOnlyItsOwnEventAnAnswer() throws Exception {
        SinkMetrics metrics = new SinkMetrics();
        DeviceGate broken = device -> {
            if (device.equals("counter-2")) {
                throw new IllegalStateException("a bug in the device gate");
            }
            return true;
        };
        try (SinkStore store = SinkStore.open(dir.resolve("sink"));
                EmbeddedBroker broker = EmbeddedBroker.start("127.0.0.1", 0)) {
            EventProcessor processor = processor(store, metrics, broken, LedgerHook.NONE);
            try (IngestService ingest = start(broker.url(), processor, store, metrics)) {
                assertTrue(ingest.awaitSubscribed(Duration.ofSeconds(15)));
                try (TestGateway gateway = new TestGateway(broker.url())) {
                    gateway.publish("counter-1", event("before", 1));
                    byte[] fromCounter2 = new String(event("thrown", 1), StandardCharsets.UTF_8).replace("counter-1", "counter-2")
                            .getBytes(StandardCharsets.UTF_8);
                    gateway.publish("counter-2", fromCounter2);
                    gateway.publish("counter-1", event("after", 2));
                    assertEquals(List.of(TestIds.event("before"), TestIds.event("after")), gateway.accepted(2));
                    assertEquals(null, gateway.acks.poll(1, TimeUnit.SECONDS), "the event whose check threw is not answered");
                    assertTrue(ingest.workerAlive(), "both ingest threads go on");
                }
            }
        }
        assertEquals(2, metrics.accepted());
    }

    /**
     * The H2 store's snapshot scripts the whole store (2 s with 150,000 events here, far more on a small board): it is
     * written on a thread of its own while the ingest goes on answering, and the events answered meanwhile stay in
     * the short log that replaces the long one.
     */
    @Test
    void eventsAreAnsweredWhileTheStoresSnapshotIsWritten() throws Exception {
        SinkMetrics metrics = new SinkMetrics();
        Path redoFile = dir.resolve("sink.ingest.redo");
        CountDownLatch snapshotStarted = new CountDownLatch(1);
        CountDownLatch release = new CountDownLatch(1);
        H2Database db = H2Database.open(dir.resolve("sink"), 4);
        try (SinkStore store = SinkStore.open(db); IngestRedo redo = IngestRedo.open(redoFile);
                EmbeddedBroker broker = EmbeddedBroker.start("127.0.0.1", 0)) {
            pastDue(redo, db);
            IngestRedo.Snapshots held = held(db, snapshotStarted, release);
            EventProcessor processor = processor(store, metrics, DeviceGate.ANY, LedgerHook.NONE);
            try (IngestService ingest = IngestService.start(new IngestService.Settings(broker.url(), "it-sink", null, null,
                    topics.allStamps(), MqttTls.NONE), processor, store, redo, held, metrics)) {
                assertTrue(ingest.awaitSubscribed(Duration.ofSeconds(15)));
                // the idle ingest thread finds the checkpoint due and starts the snapshot
                assertTrue(snapshotStarted.await(10, TimeUnit.SECONDS), "no snapshot was started");
                try (TestGateway gateway = new TestGateway(broker.url())) {
                    // Before: the ingest thread wrote the snapshot itself, and nothing was answered until it was done.
                    for (int i = 2; i <= 4; i++) {
                        gateway.publish("counter-1", event("during-" + i, i));
                    }
                    assertEquals(List.of(TestIds.event("during-2"), TestIds.event("during-3"), TestIds.event("during-4")),
                            gateway.accepted(3));
                    release.countDown();
                    // the long log is replaced once the snapshot is written (at the next batch, or within 200 ms idle)
                    await().atMost(Duration.ofSeconds(15)).until(() -> java.nio.file.Files.size(redoFile) < 64 * 1024);
                    await().atMost(Duration.ofSeconds(5)).until(() -> ingest.redoCounters().get("ingestRedo.size") < 64 * 1024);
                    Map<String, Long> counters = ingest.redoCounters(); // what /metrics shows of the log
                    assertEquals(IngestRedo.CHECKPOINT_BYTES, counters.get("ingestRedo.dueSize"));
                    assertTrue(counters.get("ingestRedo.snapshotMsLast") > 0, counters.toString());
                    assertEquals(0, counters.get("ingestRedo.snapshotsFailed"));
                } finally {
                    release.countDown();
                }
            }
        }
        // what a start after a crash would replay over the snapshot: the events answered after its mark
        List<String> replayed = new ArrayList<>();
        try (IngestRedo reopened = IngestRedo.open(redoFile)) {
            assertEquals(2, reopened.generation());
        }
        try (RedoLog log = RedoLog.open(redoFile, RedoLog.FILES)) {
            log.read(r -> {
                if (r[0] == 1) { // a logged message
                    String text = new String(r, StandardCharsets.ISO_8859_1);
                    for (String name : List.of("during-2", "during-3", "during-4")) {
                        if (text.contains(TestIds.event(name))) {
                            replayed.add(name);
                        }
                    }
                }
            });
        }
        assertEquals(List.of("during-2", "during-3", "during-4"), replayed);
        assertEquals(3, metrics.accepted());
    }

    /**
     * A stop while the snapshot is written waits for it and ends its checkpoint: the short log, and no second
     * snapshot of the whole store beside it (two would write the same file).
     */
    @Test
    void aStopDuringTheSnapshotWaitsForItAndWritesNoSecond() throws Exception {
        SinkMetrics metrics = new SinkMetrics();
        Path redoFile = dir.resolve("sink.ingest.redo");
        CountDownLatch snapshotStarted = new CountDownLatch(1);
        CountDownLatch release = new CountDownLatch(1);
        AtomicInteger snapshots = new AtomicInteger();
        H2Database db = H2Database.open(dir.resolve("sink"), 4);
        try (SinkStore store = SinkStore.open(db); IngestRedo redo = IngestRedo.open(redoFile);
                EmbeddedBroker broker = EmbeddedBroker.start("127.0.0.1", 0)) {
            pastDue(redo, db);
            IngestRedo.Snapshots once = held(db, snapshotStarted, release);
            IngestRedo.Snapshots held = generation -> {
                snapshots.incrementAndGet();
                return once.write(generation);
            };
            IngestService ingest = startWithRedo(broker.url(), store, metrics, redo, held);
            try {
                assertTrue(snapshotStarted.await(10, TimeUnit.SECONDS), "no snapshot was started");
                Thread releaser = new Thread(() -> {
                    // once the stop has ended the ingest thread, it waits for the snapshot
                    await().atMost(Duration.ofSeconds(10)).until(() -> !ingest.workerAlive());
                    release.countDown();
                }, "test-releaser");
                releaser.start();
                ingest.close();
                releaser.join();
                assertFalse(ingest.stopSnapshotWanted(), "the stop would write a second snapshot");
                assertEquals(2, redo.generation(), "the snapshot's checkpoint was ended at the stop");
                assertTrue(redo.bytes() < 64 * 1024, redo.bytes() + " bytes left in the log");
                assertEquals(1, snapshots.get());
            } finally {
                release.countDown();
                ingest.close();
            }
        }
    }

    /** A snapshot that fails keeps the long log, which is safe, and shows in the metrics; the ingest goes on. */
    @Test
    void aSnapshotThatFailsKeepsTheLogAndIsCounted() throws Exception {
        SinkMetrics metrics = new SinkMetrics();
        H2Database db = H2Database.open(dir.resolve("sink"), 4);
        try (SinkStore store = SinkStore.open(db); IngestRedo redo = IngestRedo.open(dir.resolve("sink.ingest.redo"));
                EmbeddedBroker broker = EmbeddedBroker.start("127.0.0.1", 0)) {
            pastDue(redo, db);
            IngestRedo.Snapshots failing = generation -> {
                throw new java.io.IOException("disk full (the test's)");
            };
            try (IngestService ingest = startWithRedo(broker.url(), store, metrics, redo, failing)) {
                assertTrue(ingest.awaitSubscribed(Duration.ofSeconds(15)));
                await().atMost(Duration.ofSeconds(10)).until(() -> ingest.redoCounters().get("ingestRedo.snapshotsFailed") > 0);
                try (TestGateway gateway = new TestGateway(broker.url())) {
                    gateway.publish("counter-1", event("after-failure", 1));
                    assertEquals(List.of(TestIds.event("after-failure")), gateway.accepted(1));
                }
                assertTrue(ingest.redoCounters().get("ingestRedo.size") > IngestRedo.CHECKPOINT_BYTES,
                        "the long log is kept: " + ingest.redoCounters());
            }
        }
    }

    /**
     * A snapshot that keeps failing (a full disk) is tried again after a pause that doubles, not at every batch or
     * 200 ms idle poll: each try scripts the whole store and logs an error. Once one succeeds the log is short again.
     */
    @Test
    void aSnapshotThatKeepsFailingIsTriedAgainAfterAGrowingPause() throws Exception {
        SinkMetrics metrics = new SinkMetrics();
        AtomicInteger tries = new AtomicInteger();
        AtomicLong firstFailure = new AtomicLong();
        H2Database db = H2Database.open(dir.resolve("sink"), 4);
        try (SinkStore store = SinkStore.open(db); IngestRedo redo = IngestRedo.open(dir.resolve("sink.ingest.redo"));
                EmbeddedBroker broker = EmbeddedBroker.start("127.0.0.1", 0)) {
            pastDue(redo, db);
            IngestRedo.Snapshots failingTwice = generation -> {
                if (tries.incrementAndGet() <= 2) {
                    firstFailure.compareAndSet(0, System.nanoTime());
                    throw new java.io.IOException("disk full (the test's)");
                }
                return H2Snapshot.write(db, generation, RedoLog.FILES);
            };
            try (IngestService ingest = startWithRedo(broker.url(), store, metrics, redo, failingTwice)) {
                assertTrue(ingest.awaitSubscribed(Duration.ofSeconds(15)));
                await().atMost(Duration.ofSeconds(10)).until(() -> tries.get() >= 1);
                try (TestGateway gateway = new TestGateway(broker.url())) {
                    for (int i = 1; i <= 20; i++) { // batches, each a chance to try again; all answered
                        gateway.publish("counter-1", event("while-failing-" + i, i));
                        assertEquals(List.of(TestIds.event("while-failing-" + i)), gateway.accepted(1));
                    }
                }
                await().atMost(Duration.ofSeconds(15)).until(() -> ingest.redoCounters().get("ingestRedo.size") < 64 * 1024);
                long took = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - firstFailure.get());
                assertEquals(3, tries.get(), "two failures, then the one that succeeded");
                assertEquals(2, ingest.redoCounters().get("ingestRedo.snapshotsFailed"));
                // without the pauses the third try came with the next batch, well within a second
                assertTrue(took >= 3_000, "the pauses 1 s, then 2 s: succeeded " + took + " ms after the first failure");
            }
        }
    }

    /**
     * The redo log alone cannot be written (its disk full, the store's not): a batch it cannot take is not answered (the
     * gateway keeps the stamp and sends it again), the ingest goes on, and once there is room again the stamp sent
     * again is answered. (A disk that fills under both closes H2's store first: SinkFullDiskIT.)
     */
    @Test
    void aRedoLogThatCannotBeWrittenHoldsTheAnswerBackAndTheResendIsAnsweredOnceItCan() throws Exception {
        SinkMetrics metrics = new SinkMetrics();
        FullDiskFs.makeRoom();
        H2Database db = H2Database.open(dir.resolve("sink"), 4);
        try (SinkStore store = SinkStore.open(db);
                IngestRedo redo = IngestRedo.open(dir.resolve("sink.ingest.redo"), FullDiskFs.fileOps());
                EmbeddedBroker broker = EmbeddedBroker.start("127.0.0.1", 0);
                IngestService ingest = startWithRedo(broker.url(), store, metrics, redo, generation -> H2Snapshot.write(db, generation, RedoLog.FILES));
                TestGateway gateway = new TestGateway(broker.url())) {
            assertTrue(ingest.awaitSubscribed(Duration.ofSeconds(15))); // a stamp published before is nobody's
            gateway.publish("counter-1", event("before-full", 1));
            assertEquals(List.of(TestIds.event("before-full")), gateway.accepted(1));
            FullDiskFs.fillAfter(".ingest.redo", 0);
            gateway.publish("counter-1", event("on-full-disk", 2));
            StampAck early = gateway.acks.poll(2, TimeUnit.SECONDS);
            assertEquals(null, early, "answered a stamp the redo log could not take");
            FullDiskFs.makeRoom();
            gateway.publish("counter-1", event("on-full-disk", 2)); // the gateway's resend after its ack timeout
            StampAck ack = gateway.acks.poll(10, TimeUnit.SECONDS);
            assertNotNull(ack, "the resend after the disk had room again was not answered");
            assertEquals(TestIds.event("on-full-disk"), ack.eventId());
            // the store had committed it before the log failed: the resend is the same stamp, not a second one
            assertEquals(AckOutcome.DUPLICATE, ack.outcome(), ack.toString());
            gateway.publish("counter-1", event("after-room", 3));
            assertEquals(List.of(TestIds.event("after-room")), gateway.accepted(1));
        } finally {
            FullDiskFs.makeRoom();
        }
    }

    /** A first snapshot, then a log past its 4 MB: the ingest's first step finds a checkpoint due. */
    private void pastDue(IngestRedo redo, H2Database db) throws Exception {
        redo.checkpoint(generation -> H2Snapshot.write(db, generation, RedoLog.FILES));
        List<EventProcessor.Message> filler = new ArrayList<>();
        for (int i = 0; i < 80; i++) {
            filler.add(new EventProcessor.Message(topics.stamps("counter-0"), new byte[64 * 1024]));
        }
        redo.logged(filler);
        assertTrue(redo.checkpointDue());
    }

    /** Snapshots that say when one starts and are written only once the test releases them. */
    private static IngestRedo.Snapshots held(H2Database db, CountDownLatch started, CountDownLatch release) {
        return generation -> {
            started.countDown();
            try {
                assertTrue(release.await(30, TimeUnit.SECONDS), "the test never let the snapshot go");
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new java.io.IOException("interrupted", e);
            }
            return H2Snapshot.write(db, generation, RedoLog.FILES);
        };
    }

    /** Publishes stamp events as any device and collects every device's answers. */
    private final class TestGateway implements AutoCloseable {
        final BlockingQueue<StampAck> acks = new LinkedBlockingQueue<>();
        private final MqttClient client;

        TestGateway(String brokerUrl) throws MqttException {
            client = new MqttClient(brokerUrl, "it-gateway", new MemoryPersistence());
            client.connect();
            client.subscribe(topics.prefix() + "/gw/+/acks", 1, (t, m) -> acks.add(codec.decodeAck(m.getPayload())));
        }

        void publish(String device, byte[] event) throws MqttException {
            client.publish(topics.stamps(device), event, 1, false);
        }

        /** The event ids of the next {@code n} answers, in the order they came, each required ACCEPTED. */
        List<String> accepted(int n) throws InterruptedException {
            List<String> answered = new ArrayList<>();
            for (int i = 0; i < n; i++) {
                StampAck ack = acks.poll(10, TimeUnit.SECONDS);
                assertNotNull(ack, "answers so far: " + answered);
                assertEquals(AckOutcome.ACCEPTED, ack.outcome(), ack.toString());
                answered.add(ack.eventId());
            }
            return answered;
        }

        @Override
        public void close() throws MqttException {
            client.disconnect(500);
            client.close();
        }
    }

    /** The sink's event processor for program "coffee" (10 stamps, no rules) with this device gate and ledger hook. */
    private EventProcessor processor(SinkStore store, SinkMetrics metrics, DeviceGate devices, LedgerHook hook) {
        return new EventProcessor(topics, Vectors.verifier(),
                Map.of("coffee", new Program("coffee", "Coffee", 10, StampRules.NONE, RewardPlan.SIMPLE)), store, metrics,
                Clock.systemUTC(), codec, devices, hook);
    }

    /** The ingest on H2 with its redo log, writing the store's snapshots with {@code snapshots}. */
    private IngestService startWithRedo(String brokerUrl, SinkStore store, SinkMetrics metrics, IngestRedo redo,
            IngestRedo.Snapshots snapshots) {
        return IngestService.start(new IngestService.Settings(brokerUrl, "it-sink", null, null, topics.allStamps(),
                MqttTls.NONE), processor(store, metrics, DeviceGate.ANY, LedgerHook.NONE), store, redo, snapshots, metrics);
    }

    private IngestService start(String brokerUrl, EventProcessor processor, SinkStore store, SinkMetrics metrics) {
        return IngestService.start(new IngestService.Settings(brokerUrl, "it-sink", null, null, topics.allStamps(), MqttTls.NONE),
                processor, store, metrics);
    }

    private static byte[] event(String name, long seq) {
        return new String(Vectors.bytes("stamp-event.json"), StandardCharsets.UTF_8)
                .replace("019ab0f2-5c3e-7a41-9c1d-2f6b8e4a7d10", TestIds.event(name)).replace("\"seq\": 42", "\"seq\": " + seq)
                .getBytes(StandardCharsets.UTF_8);
    }

    /** Publishes one stamp event the way a gateway does and waits for its answer. */
    private StampAck roundTrip(String url, String name) throws Exception {
        String eventId = TestIds.event(name); // the wire contract takes lowercase UUIDs only
        BlockingQueue<StampAck> acks = new LinkedBlockingQueue<>();
        MqttClient gateway = subscribedGateway(url, "it-gateway-" + name, acks);
        try {
            String golden = new String(Vectors.bytes("stamp-event.json"), StandardCharsets.UTF_8)
                    .replace("019ab0f2-5c3e-7a41-9c1d-2f6b8e4a7d10", eventId);
            gateway.publish(topics.stamps("counter-1"), golden.getBytes(StandardCharsets.UTF_8), 1, false);
            StampAck ack = acks.poll(10, TimeUnit.SECONDS);
            assertNotNull(ack, "no answer to " + name);
            assertEquals(eventId, ack.eventId());
            return ack;
        } finally {
            if (gateway.isConnected()) { // a disconnect of a lost client throws, and would hide why it failed
                gateway.disconnect(500);
            }
            gateway.close();
        }
    }

    /** A gateway's client subscribed to its acks. */
    private MqttClient subscribedGateway(String url, String clientId, BlockingQueue<StampAck> acks) throws Exception {
        MqttClient gateway = new MqttClient(url, clientId, new MemoryPersistence());
        MqttConnectOptions o = new MqttConnectOptions();
        o.setSocketFactory(NoDelaySockets.forUrl(url));
        gateway.connect(o);
        // no retry: the embedded broker used to drop a SUBSCRIBE sent right after the CONNACK (EarlySubscribeIT)
        gateway.subscribe(topics.acks("counter-1"), 1, (t, m) -> acks.add(codec.decodeAck(m.getPayload())));
        return gateway;
    }
}
