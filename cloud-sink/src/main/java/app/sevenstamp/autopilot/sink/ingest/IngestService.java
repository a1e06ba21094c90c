package app.sevenstamp.autopilot.sink.ingest;

import app.sevenstamp.autopilot.protocol.support.Backoff;
import app.sevenstamp.autopilot.protocol.support.NamedThreads;
import app.sevenstamp.autopilot.protocol.support.MqttTls;
import app.sevenstamp.autopilot.sink.broker.MqttSession;
import app.sevenstamp.autopilot.sink.metrics.SinkMetrics;
import app.sevenstamp.autopilot.sink.store.SinkStore;
import app.sevenstamp.autopilot.sink.store.StoreException;
import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.Semaphore;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import org.eclipse.paho.client.mqttv3.IMqttActionListener;
import org.eclipse.paho.client.mqttv3.IMqttToken;
import org.eclipse.paho.client.mqttv3.MqttConnectOptions;
import org.eclipse.paho.client.mqttv3.MqttException;
import org.eclipse.paho.client.mqttv3.MqttMessage;
import org.tinylog.Logger;

/**
 * Receives stamp events from the broker and answers them.
 *
 * <p><b>Session.</b> The client connects with {@code cleanSession=false} under a stable client id
 * ({@code mqtt.clientId}), so the broker keeps the subscription and queues QoS 1 stamp events while
 * the sink is down or restarting, and delivers them when it is back. (With the embedded broker the
 * broker stops with the sink, so this matters for an external broker; there the gateway's own
 * redelivery covers the rest.) Paho keeps its in-flight state in memory only
 * ({@link MemoryPersistence}): the database, not Paho, is what must survive.
 *
 * <p><b>Acknowledgement.</b> Manual acks: a message is PUBACKed to the broker only once the sink
 * is done with it, that is after its transaction committed and its batch was synced to the disk.
 * "Done" includes failures (malformed payload, database error): those get no {@code StampAck}, so
 * the gateway sends the event again as a new message, while a message left un-PUBACKed would hold
 * one of the broker's few in-flight slots for this session. A message the sink never finished
 * (crash, stop) is not PUBACKed, and the broker sends it again on the next session. The end-to-end
 * {@code StampAck} goes to the gateway after the same sync.
 *
 * <p><b>Threads.</b> Paho's callback thread only hands each message to a bounded queue; it never
 * touches the database or publishes (Paho deadlocks when a callback waits on the client). The
 * "ingest-check" thread takes them in arrival order and does what needs no transaction: the topic and
 * device, the JSON, the card code's Ed25519 signature ({@link EventProcessor#check}); a second, short
 * queue hands them on. The one "ingest" thread takes batches from it (what is there, up to
 * {@link #BATCH}), decides the whole batch in ONE transaction ({@link EventProcessor#decide}: group
 * commit), syncs once, then publishes the answers and PUBACKs without waiting for them. Two stages,
 * because the ingest thread is what bounds the sink's rate, and a third of its CPU was the checks
 * (JFR of scripts/bench-sink, docs/perf/sink-ingest.md); they now run while it waits on the database.
 * The connection is an
 * {@link MqttSession} whose "sink-mqtt-connect" thread runs the connect loop: exponential backoff
 * with jitter from 1 s to 60 s, the first connect included, subscribing after each connect. No
 * lock is shared between these threads; they meet only at the queue and at atomics.
 */
public final class IngestService implements AutoCloseable {
    /**
     * Events received and not yet taken by the ingest thread. The broker's in-flight window does NOT
     * bound this: Mosquitto 2.0.11 (Debian 12) holds {@code max_inflight_messages} only until the
     * first PUBACK of the session, then hands over everything it queued for the sink at once (a
     * probe: 1,000 unacknowledged with the limit at 1,000; after 6 PUBACKs, all 3,000). A queue of
     * 1,024 shed most of a 4,000-event burst that way (scripts/bench-sink never finished; each shed
     * event costs its box a resend after the ack timeout). Sized for the fleet's own bound instead:
     * a box keeps at most 20 unanswered, so 1,000 boxes over two sinks put about 10,000 on each. At
     * about 500 bytes an event that is under 10 MB; what goes beyond is still shed. A constant, not a
     * setting: the figure follows the boxes' window, not the site.
     */
    static final int QUEUE_CAPACITY = 16_384;
    /**
     * At most this many events per transaction. In practice the broker's in-flight window for the
     * sink's session bounds a batch first (the sink PUBACKs only after the commit, so the broker
     * sends no more than that many unacknowledged): 10 in Moquette 0.17 (fixed), 20 in Mosquitto
     * unless {@code max_inflight_messages} is raised. It also stays well below Paho's
     * {@code maxInflight} (1000) for the answers, which go out without waiting for their PUBACKs.
     */
    static final int BATCH = 256;
    /**
     * Paho's maxInflight: answers published and not yet completed. Paho frees an answer's slot on
     * its callback thread, which never waits ({@code messageArrived} lets an event go when the queue
     * is full); completions can still lag behind a burst (JFR and the bench showed "Too many
     * publishes in progress" with 1000 here). Four queues' worth keeps the window from ever being
     * what stops an answer; {@link #ackWindow} waits for a slot should it still be. (Four of the old
     * 1,024-event queue; answers go out at most a batch at a time, so a bigger queue needs no more.)
     */
    static final int ACK_WINDOW = 4096;
    /**
     * Events checked and not yet taken by the ingest thread: two batches, so that the next batch is
     * checked while one commits. The check thread waits when it is full; the callback never does.
     */
    static final int CHECKED_CAPACITY = 2 * BATCH;
    /** How long an answer waits for a free in-flight slot before it is given up (the gateway redelivers). */
    private static final long ACK_SLOT_WAIT_MS = 5_000;
    /**
     * How long a stop waits for a snapshot under way: the sink's unit allows 15 s to stop, and the broker's close and
     * the threads' joins take up to 6 of them. Past it the stop writes none and the next start replays the log.
     */
    private static final long SNAPSHOT_STOP_WAIT_S = 8;
    private static final Duration MIN_BACKOFF = Duration.ofSeconds(1);
    private static final Duration MAX_BACKOFF = Duration.ofSeconds(60);
    /**
     * After a failed snapshot (a full disk, most likely) the next waits 1 s, then twice as long each time up to a
     * minute: each try scripts the whole store and logs an error, and the long log it leaves is safe meanwhile.
     */
    private static final Duration SNAPSHOT_RETRY_MIN = Duration.ofSeconds(1);
    private static final Duration SNAPSHOT_RETRY_MAX = Duration.ofSeconds(60);

    /** What the ingest needs of the configuration. */
    public record Settings(String brokerUrl, String clientId, String username, String password, String stampsTopic,
            MqttTls tls) {
        public Settings {
            Objects.requireNonNull(brokerUrl, "brokerUrl");
            Objects.requireNonNull(clientId, "clientId");
            Objects.requireNonNull(stampsTopic, "stampsTopic");
            Objects.requireNonNull(tls, "tls");
        }

        @Override
        public String toString() {
            return "Settings[" + brokerUrl + ", clientId=" + clientId + ", username=" + username + "]";
        }
    }

    private final Settings settings;
    private final EventProcessor processor;
    private final SinkStore store;
    /** The H2 store's durable record of acknowledged batches; null on PostgreSQL. */
    private final IngestRedo redo;
    /** Writes the H2 store's snapshot when the redo log is due for a checkpoint; null with no redo log. */
    private final IngestRedo.Snapshots snapshots;
    /**
     * Writes that snapshot, one at a time, while the ingest thread goes on deciding batches: it scripts the whole
     * store (2 s with 150,000 events here), longer than a box should wait for its answers. Null with no redo log.
     */
    private final ExecutorService snapshotter;
    /** Ingest thread only (and close, after it): the checkpoint whose snapshot is being written, and its size. */
    private IngestRedo.Mark pendingMark;
    private Future<Long> pendingSnapshot;
    /** Set by close: a snapshot may still be written, or the log was just made short; the stop writes none then. */
    private volatile boolean stopSnapshotWanted = true;
    /** The redo log's size and the size past which it is due, as of the last batch, for the metrics. */
    private volatile long redoBytes;
    private volatile long redoDueBytes;
    private volatile long snapshotMsLast;
    private final AtomicLong snapshotsFailed = new AtomicLong();
    /** Ingest thread only: when the snapshot under way began. */
    private long snapshotStarted;
    /** Ingest thread only: the pause after a failed snapshot (the longest of each step), and when it ends. */
    private final Backoff snapshotRetry = new Backoff(SNAPSHOT_RETRY_MIN, SNAPSHOT_RETRY_MAX, () -> 1.0);
    private long snapshotRetryAt = System.nanoTime();
    private final SinkMetrics metrics;
    /** The MQTT connection; its connection() number keeps a PUBACK off a later connection than its message came on. */
    private final MqttSession client;
    /** From the callback to the check thread. */
    private final BlockingQueue<Inbound> queue = new ArrayBlockingQueue<>(QUEUE_CAPACITY);
    /** From the check thread to the ingest thread, in arrival order. */
    private final BlockingQueue<CheckedInbound> checked = new ArrayBlockingQueue<>(CHECKED_CAPACITY);
    private final Semaphore ackWindow = new Semaphore(ACK_WINDOW);
    private final Thread checker;
    private final Thread worker;
    private final AtomicBoolean closed = new AtomicBoolean();
    private volatile boolean accepting = true;
    private volatile boolean running = true;
    private volatile boolean warnedNotConnected;
    /** Callback thread only: when the last "queue full" warning was logged. */
    private long lastShedWarning;

    private IngestService(Settings settings, EventProcessor processor, SinkStore store, IngestRedo redo,
            IngestRedo.Snapshots snapshots, SinkMetrics metrics) {
        this.settings = settings;
        this.processor = processor;
        this.store = store;
        this.redo = redo;
        this.snapshots = snapshots;
        this.metrics = metrics;
        this.checker = NamedThreads.of("ingest-check").newThread(this::check);
        this.worker = NamedThreads.of("ingest").newThread(this::work);
        this.snapshotter = redo == null ? null : Executors.newSingleThreadExecutor(NamedThreads.daemon("ingest-snapshot"));
        // manual acks, set before connecting: with a kept session the broker sends queued events right after CONNACK
        this.client = MqttSession.builder("ingest", "sink-mqtt-connect")
                .client(settings.brokerUrl(), settings.clientId(), options(settings))
                .subscribe(settings.stampsTopic(), 1)
                .backoff(new Backoff(MIN_BACKOFF, MAX_BACKOFF, () -> ThreadLocalRandom.current().nextDouble()))
                .manualAcks(true)
                .handler(new Callback())
                .build();
    }

    /** Starts the ingest thread and the connect loop; returns at once. */
    public static IngestService start(Settings settings, EventProcessor processor, SinkStore store, SinkMetrics metrics) {
        return start(settings, processor, store, null, null, metrics);
    }

    /**
     * @param redo where acknowledged batches are made durable (the H2 store); null to sync the store instead
     * @param snapshots writes the store's snapshot when the redo log is due for a checkpoint
     */
    public static IngestService start(Settings settings, EventProcessor processor, SinkStore store, IngestRedo redo,
            IngestRedo.Snapshots snapshots, SinkMetrics metrics) {
        IngestService ingest = new IngestService(settings, processor, store, redo, snapshots, metrics);
        ingest.checker.start(); // first: the ingest thread runs while the check thread is alive or has left work
        ingest.worker.start();
        ingest.client.start();
        return ingest;
    }

    /** Waits until the subscription is in place for the first time. */
    public boolean awaitSubscribed(Duration timeout) throws InterruptedException {
        return client.awaitReady(timeout);
    }

    /** Connected and subscribed right now. */
    public boolean isSubscribed() {
        return client.isReady();
    }

    /** The connection's state and counts, for the metrics. */
    public MqttSession.Status connectionStatus() {
        return client.status();
    }

    public String brokerUrl() {
        return settings.brokerUrl();
    }

    /** The check and ingest threads still run (for the sink's watchdog). */
    public boolean workerAlive() {
        return checker.isAlive() && worker.isAlive();
    }

    private static MqttConnectOptions options(Settings settings) {
        // A shared subscription ($share/...) starts a clean session: Mosquitto keeps handing a
        // persistent-but-offline member its share of the events, which would sit there until that
        // instance came back. Clean, a dead instance leaves the group at once; what it had not
        // finished is redelivered by the gateways (their outbox is the source of truth).
        MqttConnectOptions o = MqttSession.options(settings.brokerUrl(), settings.tls(), settings.username(),
                settings.password(), settings.stampsTopic().startsWith("$share/"));
        // Acks go out without waiting for their PUBACK; Paho's default of 10 in flight would throttle a burst.
        o.setMaxInflight(ACK_WINDOW);
        return o;
    }

    private final class Callback implements MqttSession.Handler {
        @Override
        public void ready(long connection, boolean sessionKept) {
            warnedNotConnected = false;
        }

        @Override
        public void messageArrived(String topic, MqttMessage message) throws InterruptedException {
            if (!accepting) {
                return; // stopping: not PUBACKed, so the broker keeps it for the next session
            }
            Inbound in = new Inbound(topic, message.getPayload(), message.getId(), message.getQos(), client.connection(),
                    System.nanoTime());
            // Never wait here. This is Paho's one callback thread: it also completes the answers' publishes,
            // and while it waits Paho reads nothing from the socket, PUBACKs included, so the answers' window
            // never frees and the ingest thread waits on it too (seen with 1,000 simulated boxes after a
            // broker restart: both sinks down to a batch per 5 s). The broker's in-flight window (manual
            // acks) keeps this queue from filling, except when a reconnect adds a new window to what an
            // older connection left queued, or a broker allows more than the queue holds. Then the event
            // is let go: PUBACKed so that the broker's window moves on, never answered, so the gateway,
            // whose outbox keeps it until answered, sends it again after its ack timeout.
            if (!queue.offer(in)) {
                shed(in);
            }
        }

        private void shed(Inbound in) {
            metrics.countShed();
            try {
                client.messageArrivedComplete(in.messageId(), in.qos());
            } catch (MqttException e) {
                Logger.debug("cannot PUBACK a shed event: {}", e.getMessage());
            }
            long now = System.nanoTime();
            if (now - lastShedWarning > TimeUnit.MINUTES.toNanos(1) || lastShedWarning == 0) {
                lastShedWarning = now;
                Logger.warn("ingest queue full ({} events): events are let go unanswered, and their gateways send them "
                        + "again ({} so far); the sink is behind its broker", QUEUE_CAPACITY, metrics.shed());
            }
        }
    }

    /** An event as the check thread hands it to the ingest thread. */
    private record CheckedInbound(Inbound in, EventChecks.Checked checked) {
    }

    /** The check thread: each event's checks that need no transaction, in arrival order (see the class comment). */
    private void check() {
        List<Inbound> taken = new ArrayList<>(BATCH);
        while (running || !queue.isEmpty()) {
            try {
                if (!take(queue, taken)) {
                    continue;
                }
                for (Inbound in : taken) {
                    CheckedInbound c = new CheckedInbound(in, processor.check(new EventProcessor.Message(in.topic(),
                            in.payload())));
                    while (!checked.offer(c, 200, TimeUnit.MILLISECONDS)) {
                        if (!worker.isAlive()) {
                            return; // nobody takes them any more: left un-PUBACKed, the watchdog restarts the sink
                        }
                    }
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            } finally {
                taken.clear();
            }
        }
    }

    /**
     * Waits up to 200 ms for one element (so that a stop is seen), then takes what else is there, up to
     * {@link #BATCH} in all. False when nothing came.
     */
    private static <T> boolean take(BlockingQueue<T> from, List<T> into) throws InterruptedException {
        T first = from.poll(200, TimeUnit.MILLISECONDS);
        if (first == null) {
            return false;
        }
        into.add(first);
        from.drainTo(into, BATCH - 1);
        return true;
    }

    /** The ingest thread: batches, one transaction and one sync per batch, then the answers. */
    private void work() {
        List<CheckedInbound> taken = new ArrayList<>(BATCH);
        List<Inbound> batch = new ArrayList<>(BATCH);
        List<Inbound> logged = new ArrayList<>(BATCH);
        List<Outbound> answers = new ArrayList<>(BATCH);
        long[] arrivals = new long[BATCH]; // of answers.get(i)'s event
        while (checker.isAlive() || !checked.isEmpty()) {
            try {
                if (!take(checked, taken)) {
                    checkpointStep();
                    continue;
                }
                for (CheckedInbound c : taken) {
                    batch.add(c.in());
                    if (c.checked() != EventChecks.Unusable.CHECK_FAILED) {
                        logged.add(c.in()); // the redo log keeps what was decided; a failed check decided nothing
                    }
                }
                metrics.timings().batch(batch.size());
                decide(taken, answers, arrivals);
                if (!answers.isEmpty() && !durable(logged)) {
                    answers.clear();
                }
                long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(ACK_SLOT_WAIT_MS);
                for (int i = 0; i < answers.size(); i++) {
                    if (publish(answers.get(i), deadline)) {
                        metrics.timings().answered(System.nanoTime() - arrivals[i]);
                    }
                }
                for (Inbound in : batch) {
                    pubAck(in);
                }
                checkpointStep();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            } catch (RuntimeException e) {
                Logger.error(e, "unexpected failure in the ingest loop; continuing with the next batch");
            } finally {
                taken.clear();
                batch.clear();
                logged.clear();
                answers.clear();
            }
        }
    }

    /** The whole batch in one transaction; see {@link EventProcessor#decide}. */
    private void decide(List<CheckedInbound> batch, List<Outbound> answers, long[] arrivals) {
        List<EventChecks.Checked> checks = new ArrayList<>(batch.size());
        for (CheckedInbound c : batch) {
            checks.add(c.checked());
        }
        try {
            List<Optional<Outbound>> decided = processor.decide(checks); // one per message, in order
            for (int i = 0; i < decided.size(); i++) {
                if (decided.get(i).isPresent()) {
                    arrivals[answers.size()] = batch.get(i).in().arrivedNanos();
                    answers.add(decided.get(i).get());
                }
            }
        } catch (StoreException e) {
            // Not applied and not answered: the gateways keep the events and send them again.
            Logger.error("store failure, {} events left for redelivery: {}", batch.size(), e.getMessage());
        } catch (RuntimeException e) {
            Logger.error(e, "cannot process a batch of {} messages; left for redelivery", batch.size());
        }
    }

    /**
     * Between batches: starts the store's snapshot on the snapshot thread when the redo log is due (the log marked
     * first), or, once it is written, replaces the log by a short one. A failure leaves the long log, which is safe.
     */
    private void checkpointStep() {
        if (redo == null) {
            return;
        }
        try {
            if (pendingSnapshot != null) {
                if (pendingSnapshot.isDone()) {
                    finishCheckpoint();
                }
            } else if (redo.checkpointDue() && System.nanoTime() - snapshotRetryAt >= 0) {
                try {
                    IngestRedo.Mark mark = redo.mark();
                    snapshotStarted = System.nanoTime();
                    pendingMark = mark;
                    pendingSnapshot = snapshotter.submit(() -> snapshots.write(mark.generation()));
                } catch (IOException | RuntimeException e) {
                    Logger.error("ingest redo log checkpoint not started ({}); {}", e.toString(), snapshotFailed());
                }
            }
        } finally {
            redoBytes = redo.bytes();
            redoDueBytes = redo.checkpointBytes();
        }
    }

    /** The snapshot is written (or failed): the short log, or the long one kept. True when the log was replaced. */
    private boolean finishCheckpoint() {
        try {
            redo.finish(pendingMark, pendingSnapshot.get());
            snapshotMsLast = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - snapshotStarted);
            snapshotRetry.reset();
            return true;
        } catch (ExecutionException | IOException | RuntimeException e) {
            Logger.error("ingest redo log checkpoint failed ({}); {}",
                    (e instanceof ExecutionException ? e.getCause() : e).toString(), snapshotFailed());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } finally {
            pendingSnapshot = null;
            pendingMark = null;
        }
        return false;
    }

    /** Counts a failed snapshot and sets when the next may start; what the log line says of it. */
    private String snapshotFailed() {
        snapshotsFailed.incrementAndGet();
        Duration pause = snapshotRetry.next();
        snapshotRetryAt = System.nanoTime() + pause.toNanos();
        return "the log keeps growing until one succeeds; the next try in " + pause.toSeconds() + " s";
    }

    /**
     * The H2 store's redo log for the metrics (empty on PostgreSQL): its size and the size past which a snapshot is
     * due, whether one is being written, how long the last took, and how many failed. A log far past its due size is
     * a snapshot that does not finish.
     */
    public Map<String, Long> redoCounters() {
        if (redo == null) {
            return Map.of();
        }
        return Map.of("ingestRedo.size", redoBytes, "ingestRedo.dueSize", redoDueBytes,
                "ingestRedo.snapshotMsLast", snapshotMsLast, "ingestRedo.snapshotsFailed", snapshotsFailed.get());
    }

    /** Makes the decided batch durable before anyone hears of it: the redo log on H2, a sync on PostgreSQL. */
    private boolean durable(List<Inbound> batch) {
        if (redo != null) {
            List<EventProcessor.Message> messages = new ArrayList<>(batch.size());
            for (Inbound in : batch) {
                messages.add(new EventProcessor.Message(in.topic(), in.payload()));
            }
            try {
                redo.logged(messages);
                return true;
            } catch (IOException | RuntimeException e) {
                // Committed but not in the log: no answer, so the gateways send these again (DUPLICATE then)
                Logger.error("ingest redo log write failed; answers held back for redelivery: {}", e.toString());
                return false;
            }
        }
        try {
            store.sync();
            return true;
        } catch (StoreException e) {
            // Committed but perhaps not on the disk: no answer, so the gateways send these again.
            Logger.error("store sync failed; answers held back for redelivery: {}", e.getMessage());
            return false;
        }
    }

    /**
     * @param deadline {@link System#nanoTime} after which no answer of this batch waits for a slot any more
     * @return whether the answer was handed to the MQTT client
     */
    private boolean publish(Outbound answer, long deadline) {
        try {
            // Paho refuses a publish beyond maxInflight (REASON_CODE_MAX_INFLIGHT) instead of
            // waiting; a burst of batched answers outruns the broker's PUBACKs, so wait here for a
            // slot (backpressure on the ingest) rather than drop answers. Not while disconnected,
            // and at most ACK_SLOT_WAIT_MS per batch.
            long wait = client.isConnected() ? Math.max(0, deadline - System.nanoTime()) : 0;
            if (!ackWindow.tryAcquire(wait, TimeUnit.NANOSECONDS)) {
                throw new MqttException(MqttException.REASON_CODE_MAX_INFLIGHT);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            metrics.countAckNotSent();
            return false;
        } catch (MqttException e) {
            notSent(answer, e);
            return false;
        }
        AckSlot slot = new AckSlot();
        try {
            client.publish(answer.topic(), answer.payload(), 1, false, null, slot);
            return true;
        } catch (MqttException e) {
            slot.release();
            notSent(answer, e);
            return false;
        }
    }

    /** Returns its in-flight slot once, whichever way the publish ends (Paho may report a kept token twice). */
    private final class AckSlot implements IMqttActionListener {
        private final AtomicBoolean released = new AtomicBoolean();

        void release() {
            if (released.compareAndSet(false, true)) {
                ackWindow.release();
            }
        }

        @Override
        public void onSuccess(IMqttToken token) {
            release();
        }

        @Override
        public void onFailure(IMqttToken token, Throwable cause) {
            release();
        }
    }

    private void notSent(Outbound answer, MqttException e) {
        metrics.countAckNotSent();
        String text = "cannot send the answer to event {} ({}): {}; the gateway will send the event again";
        if (!warnedNotConnected) {
            warnedNotConnected = true;
            Logger.warn(text, answer.ack().eventId(), answer.ack().outcome(), describe(e));
        } else {
            Logger.debug(text, answer.ack().eventId(), answer.ack().outcome(), describe(e));
        }
    }

    private void pubAck(Inbound in) {
        if (in.qos() == 0 || in.connection() != client.connection() || !client.isConnected()) {
            return; // the broker sends it again on the next session; the answer is a DUPLICATE then
        }
        try {
            client.messageArrivedComplete(in.messageId(), in.qos());
        } catch (MqttException e) {
            Logger.debug("PUBACK for message {} not sent: {}", in.messageId(), describe(e));
        }
    }

    /**
     * Stops in order, within about 2 s: new messages are left to the broker; what is queued is
     * decided and answered while the connection is still up (up to 1 s); then the client disconnects.
     * Idempotent.
     */
    @Override
    public void close() {
        if (!closed.compareAndSet(false, true)) {
            return;
        }
        accepting = false;
        running = false;
        try {
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(1);
            checker.join(1_000);
            worker.join(Math.max(1, TimeUnit.NANOSECONDS.toMillis(deadline - System.nanoTime())));
            if (checker.isAlive() || worker.isAlive()) {
                // What is left stays un-PUBACKed: the broker (if it lives on) or the gateway sends it again.
                Logger.warn("ingest threads still busy after 1 s ({} queued, {} checked); interrupting them", queue.size(),
                        checked.size());
                checker.interrupt();
                worker.interrupt();
                checker.join(500);
                worker.join(500);
            }
            settleSnapshot();
        } catch (InterruptedException e) {
            stopSnapshotWanted = false;
            Thread.currentThread().interrupt();
        }
        client.close(); // disconnects, stops the connect loop
        Logger.info("ingest stopped");
    }

    /**
     * At the stop, after the ingest thread: a snapshot under way is waited for and its checkpoint ended (the short
     * log), so that the sink's stop never writes a second snapshot into the same file beside it.
     */
    private void settleSnapshot() throws InterruptedException {
        if (snapshotter == null) {
            return;
        }
        snapshotter.shutdown();
        if (worker.isAlive() || !snapshotter.awaitTermination(SNAPSHOT_STOP_WAIT_S, TimeUnit.SECONDS)) {
            // the redo log may still be in use: the next start replays it, which is safe
            stopSnapshotWanted = false;
            Logger.warn("the store's snapshot or the ingest thread is still busy at the stop; no snapshot is written "
                    + "at this stop, the next start replays the ingest redo log");
        } else if (pendingSnapshot != null) {
            // written: the short log now, and no second snapshot of the whole store at the stop; one that failed
            // leaves it to the stop
            stopSnapshotWanted = !finishCheckpoint();
        }
    }

    /**
     * Whether the sink's stop should write a snapshot (so that the next start has nothing to replay): not while one
     * the ingest started may still be written, nor when the log was just replaced at this stop.
     */
    public boolean stopSnapshotWanted() {
        return stopSnapshotWanted;
    }

    static String describe(MqttException e) {
        return MqttSession.describe(e);
    }
}
