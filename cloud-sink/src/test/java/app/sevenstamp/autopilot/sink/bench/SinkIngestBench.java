package app.sevenstamp.autopilot.sink.bench;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;

import app.sevenstamp.autopilot.protocol.EventKind;
import app.sevenstamp.autopilot.protocol.StampEvent;
import app.sevenstamp.autopilot.protocol.Topics;
import app.sevenstamp.autopilot.protocol.WireCodec;
import app.sevenstamp.autopilot.protocol.card.CardSigner;
import app.sevenstamp.autopilot.protocol.support.NoDelaySockets;
import app.sevenstamp.autopilot.protocol.testing.MosquittoProcess;
import app.sevenstamp.autopilot.protocol.testing.ProcessCpu;
import app.sevenstamp.autopilot.protocol.testing.Vectors;
import app.sevenstamp.autopilot.sink.SinkServer;
import app.sevenstamp.autopilot.sink.store.Database;
import app.sevenstamp.autopilot.sink.store.H2Database;
import app.sevenstamp.autopilot.sink.store.PostgresDatabase;
import app.sevenstamp.autopilot.sink.store.SinkStore;
import app.sevenstamp.autopilot.sink.testing.PostgresCluster;
import app.sevenstamp.autopilot.sink.testing.TestIds;
import app.sevenstamp.autopilot.sink.testing.TestSink;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Supplier;
import org.eclipse.paho.client.mqttv3.MqttAsyncClient;
import org.eclipse.paho.client.mqttv3.MqttConnectOptions;
import org.eclipse.paho.client.mqttv3.persist.MemoryPersistence;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The sink's ingest rate (events applied per second, from the first publish to the last
 * acknowledgement) next to the raw batched JDBC insert rate into the same table of the same
 * database, on H2 and on PostgreSQL (durable defaults: fsync on), with one and two sink instances.
 * Not part of the test suite (its name matches neither *Test nor *IT): scripts/bench-sink runs it.
 * It checks the counts, never the timings; the figures go to stdout and target/bench-sink.md.
 *
 * <p>Each database's raw insert and ingest run once unmeasured first ({@code bench.warmup} events): a
 * sink is a long-running server, and a cold JVM spent about 40 % of a 4,000-event phase's CPU in its
 * JIT compilers (the bench JVM's CPU less its threads', 5 Dec), while the raw insert's whole phase was
 * 0.4 s of compiling code. Mosquitto's and PostgreSQL's own CPU per event are given beside the JVM's:
 * on one machine they share its cores with the sink.
 */
class SinkIngestBench {
    private static final int EVENTS = Integer.getInteger("bench.events", 10_000);
    /** Events of the unmeasured first round of each database's phases; 0 for none. */
    private static final int WARMUP = Integer.getInteger("bench.warmup", 10_000);
    private static final int DEVICES = 8;
    private static final int CARDS = 200;
    /**
     * Events each simulated box keeps unanswered, as a gateway does ({@code mqtt.inflight}'s default): the
     * publishers send without waiting for the broker's PUBACK, so the sink, not their round trips, sets the
     * pace. (They published one at a time, synchronously, until 5 Dec: warmed up, the sink answered each
     * phase 20 ms after the last publish, so the figure was the publishers' rate.)
     */
    private static final int WINDOW = 100;
    private static final int BATCH = 500;
    /** {@code h2} or {@code pg} to run one database only (scripts/bench-sink: ONLY=...); all by default. */
    private static final String ONLY = System.getProperty("bench.only", "");

    @TempDir
    Path dir;
    private final List<String> rows = new ArrayList<>();

    private PostgresCluster pg;
    private MosquittoProcess broker;

    @Test
    void measure() throws Exception {
        pg = PostgresCluster.start(false);
        // Mosquitto's defaults (20 in flight, 1000 queued per client) drop a burst beyond 1000 for one
        // subscriber; real gateways resend from their outbox, this bench's publishers do not.
        try (MosquittoProcess mosquitto = MosquittoProcess.start(dir.resolve("mosquitto"),
                "allow_anonymous true\n" + MosquittoProcess.FLEET_TUNING)) {
            broker = mosquitto;
            if (ONLY.isEmpty() || ONLY.equals("h2")) {
                if (WARMUP > 0) {
                    raw(() -> H2Database.open(dir.resolve("h2raw-warmup/sink"), 8), WARMUP);
                    ingest("h2-warmup", null, 1, WARMUP);
                }
                row("H2", "raw batched JDBC insert", 1, raw(() -> H2Database.open(dir.resolve("h2raw/sink"), 8), EVENTS));
                row("H2", "sink ingest", 1, ingest("h2", null, 1, EVENTS));
            }
            if (ONLY.isEmpty() || ONLY.equals("pg")) {
                if (WARMUP > 0) {
                    String pgWarm = pg.newDatabase();
                    raw(() -> PostgresDatabase.open(pgWarm, "sink", null, 8), WARMUP);
                    ingest("pg-warmup", pg.newDatabase(), 1, WARMUP);
                }
                String pgRaw = pg.newDatabase();
                row("PostgreSQL", "raw batched JDBC insert", 1, raw(() -> PostgresDatabase.open(pgRaw, "sink", null, 8), EVENTS));
                row("PostgreSQL", "sink ingest", 1, ingest("pg1", pg.newDatabase(), 1, EVENTS));
                row("PostgreSQL", "sink ingest", 2, ingest("pg2", pg.newDatabase(), 2, EVENTS));
            }
        } finally {
            pg.destroy();
        }
        String table = "| database | what | instances | events | events/s | bench JVM CPU per event | machine busy "
                + "| Mosquitto / PostgreSQL CPU per event | ingest / ingest-check thread CPU per event |\n"
                + "| --- | --- | --- | --- | --- | --- | --- | --- | --- |\n"
                + String.join("\n", rows) + "\n\n" + String.join("\n", ratios.stream().map(r -> "- " + r).toList()) + "\n\n"
                + (WARMUP > 0 ? "Each database's phases ran once unmeasured first (" + WARMUP + " events each)."
                        : "No warm-up (bench.warmup=0): the first phases include the JIT's compiling.") + "\n";
        System.out.println(table);
        Files.writeString(Path.of("target", "bench-sink.md"), table, StandardCharsets.UTF_8);
    }

    private void row(String db, String what, int instances, double perSecond) {
        rows.add("| " + db + " | " + what + " | " + instances + " | " + EVENTS + " | " + Math.round(perSecond) + " | "
                + lastCpu + " | " + lastThreads + " |");
        lastThreads = "";
        if (what.startsWith("raw")) {
            lastRaw = perSecond;
            return;
        }
        // Mosquitto runs its broker loop on one thread: its CPU per event bounds what one broker passes, sink or no sink
        double ceiling = 1e3 / Math.max(1e-6, lastMosquittoMs);
        ratios.add(String.format("%s, %d instance%s: %.3f of the raw insert; Mosquitto's %.3f ms an event on its one thread "
                + "allow at most %.0f events/s, %.2f of the raw insert", db, instances, instances == 1 ? "" : "s",
                perSecond / lastRaw, lastMosquittoMs, ceiling, ceiling / lastRaw));
    }

    private final List<String> ratios = new ArrayList<>();
    private double lastRaw = Double.NaN;
    private double lastMosquittoMs;

    /**
     * The CPU of the sinks' own threads in the last ingest phase, per event: the {@code ingest} thread is
     * what bounds a sink's rate, so its share is the figure a change to it should move, and it moves far
     * less with the machine's load than events/s do.
     */
    private String lastThreads = "";

    /** CPU nanoseconds of every live thread, by thread id. */
    private static java.util.Map<Long, Long> threadCpu() {
        java.lang.management.ThreadMXBean mx = java.lang.management.ManagementFactory.getThreadMXBean();
        java.util.Map<Long, Long> cpu = new java.util.HashMap<>();
        for (Thread t : Thread.getAllStackTraces().keySet()) {
            cpu.put(t.getId(), Math.max(0, mx.getThreadCpuTime(t.getId())));
        }
        return cpu;
    }

    /**
     * CPU nanoseconds of the bench JVM's threads since {@code before}, by name with numbers folded ("http-7" as
     * "http-N"; the {@code ingest} threads of two sink instances as one). Threads that ended meanwhile are missing.
     */
    private static java.util.Map<String, Long> cpuByName(java.util.Map<Long, Long> before) {
        java.lang.management.ThreadMXBean mx = java.lang.management.ManagementFactory.getThreadMXBean();
        java.util.Map<String, Long> byName = new java.util.TreeMap<>();
        for (Thread t : Thread.getAllStackTraces().keySet()) {
            String name = t.getName().replaceAll("\\d+", "N");
            long spent = Math.max(0, mx.getThreadCpuTime(t.getId())) - before.getOrDefault(t.getId(), 0L);
            byName.merge(name, Math.max(0, spent), Long::sum);
        }
        return byName;
    }

    /** The {@code limit} largest of {@code byName} as CPU ms per event, largest first. */
    private static String top(java.util.Map<String, Long> byName, int limit, int events) {
        return byName.entrySet().stream().sorted(java.util.Map.Entry.<String, Long>comparingByValue().reversed()).limit(limit)
                .map(e -> String.format("%s %.3f", e.getKey(), e.getValue() / 1e6 / events))
                .collect(java.util.stream.Collectors.joining(", "));
    }

    /**
     * What the last measured phase cost in CPU: the bench JVM's own (sinks, publishers, raw insert), in
     * ms per event, and how busy all the machine's CPUs were (/proc/stat, every process, other users'
     * too): with the machine near 100 %, a second instance has no core to run on.
     */
    private String lastCpu = "| ";

    private static long jvmCpuNanos() {
        return ((com.sun.management.OperatingSystemMXBean) java.lang.management.ManagementFactory.getOperatingSystemMXBean())
                .getProcessCpuTime();
    }

    /** Mosquitto's and PostgreSQL's CPU nanoseconds so far, for {@link #cpuSince}. */
    private long[] otherCpu() {
        return new long[] {ProcessCpu.of(broker.pid(), false), ProcessCpu.of(pg.pid(), true)};
    }

    private void cpuSince(long jvm0, long[] machine0, long[] other0, int events) {
        long[] other = otherCpu();
        double busy = ProcessCpu.busyPercentSince(machine0);
        lastMosquittoMs = (other[0] - other0[0]) / 1e6 / events;
        lastCpu = String.format("%.2f ms | %.0f %% | %.3f / %.3f ms", (jvmCpuNanos() - jvm0) / 1e6 / events, busy,
                lastMosquittoMs, (other[1] - other0[1]) / 1e6 / events);
    }

    /** Rows into {@code events} in batches of 500, one commit per batch. */
    private double raw(Supplier<Database> databases, int events) throws Exception {
        lastThreads = ""; // a raw insert runs no sink thread
        Database db = databases.get();
        try (SinkStore store = SinkStore.open(db); Connection c = db.connection()) {
            c.setAutoCommit(false);
            long cpu0 = jvmCpuNanos();
            long[] machine0 = ProcessCpu.machineJiffies();
            long[] other0 = otherCpu();
            long t0 = System.nanoTime();
            try (PreparedStatement ps = c.prepareStatement("INSERT INTO events (event_id, device_id, seq, card_id, "
                    + "program_id, kind, device_time, received_at, clock_synced, outcome, reason) "
                    + "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")) {
                Instant now = Instant.now();
                for (int i = 0; i < events; i++) {
                    ps.setString(1, "raw-" + i);
                    ps.setString(2, "counter-" + (i % DEVICES));
                    ps.setLong(3, i);
                    ps.setString(4, "ABCDEFGHJKMNPQRS");
                    ps.setString(5, "coffee");
                    ps.setString(6, "STAMP");
                    ps.setObject(7, now.atOffset(ZoneOffset.UTC));
                    ps.setObject(8, now.atOffset(ZoneOffset.UTC));
                    ps.setBoolean(9, true);
                    ps.setString(10, "ACCEPTED");
                    ps.setString(11, null);
                    ps.addBatch();
                    if ((i + 1) % BATCH == 0) {
                        ps.executeBatch();
                        c.commit();
                    }
                }
                ps.executeBatch();
                c.commit();
                db.sync(c);
            }
            double seconds = (System.nanoTime() - t0) / 1e9;
            cpuSince(cpu0, machine0, other0, events);
            assertEquals(events, store.countEvents());
            return events / seconds;
        }
    }

    private double ingest(String name, String pgUrl, int instances, int events) throws Exception {
        List<SinkServer> sinks = new ArrayList<>();
        List<MqttAsyncClient> gateways = new ArrayList<>();
        ExecutorService pool = Executors.newFixedThreadPool(DEVICES);
        try {
            for (int i = 0; i < instances; i++) {
                TestSink sink = TestSink.in(dir.resolve(name + "-" + i)).vectorKey().broker(broker.url())
                        .set("mqtt.clientId", "bench-" + name + "-" + i).program("coffee", 10);
                if (pgUrl != null) {
                    sink.set("store.url", pgUrl).set("store.user", "sink");
                }
                if (instances > 1) {
                    sink.set("mqtt.shareGroup", "bench");
                }
                sinks.add(sink.start());
            }
            Topics topics = new Topics(Topics.DEFAULT_PREFIX);
            WireCodec codec = new WireCodec();
            CardSigner signer = Vectors.signer();
            SecureRandom random = new SecureRandom();
            List<String> cards = new ArrayList<>();
            for (int i = 0; i < CARDS; i++) {
                cards.add(signer.sign("coffee", CardSigner.newCardId(random)));
            }
            AtomicLong acked = new AtomicLong();
            List<Semaphore> windows = new ArrayList<>();
            for (int d = 0; d < DEVICES; d++) {
                Semaphore window = new Semaphore(WINDOW);
                windows.add(window);
                MqttAsyncClient client = new MqttAsyncClient(broker.url(), "bench-gw-" + name + "-" + d, new MemoryPersistence());
                MqttConnectOptions o = new MqttConnectOptions();
                o.setMaxInflight(WINDOW);
                o.setSocketFactory(NoDelaySockets.forUrl(broker.url())); // as the gateway's uplink does
                client.connect(o).waitForCompletion();
                client.subscribe(topics.acks("counter-" + d), 1, (t, m) -> {
                    acked.incrementAndGet();
                    window.release();
                }).waitForCompletion();
                gateways.add(client);
            }
            Instant at = Instant.parse("2026-11-23T08:00:00Z");
            long cpu0 = jvmCpuNanos();
            long[] machine0 = ProcessCpu.machineJiffies();
            long[] other0 = otherCpu();
            java.util.Map<Long, Long> threads0 = threadCpu();
            long t0 = System.nanoTime();
            List<Future<?>> sends = new ArrayList<>();
            for (int d = 0; d < DEVICES; d++) {
                int device = d;
                sends.add(pool.submit(() -> {
                    for (int i = device; i < events; i += DEVICES) {
                        String code = cards.get(i % CARDS);
                        String[] parts = code.split("\\.");
                        // Each device counts 1, 2, 3, ... like a real gateway: a stride here would open a
                        // sequence gap (a row and a WARN) on every event and measure that instead.
                        long seq = i / DEVICES + 1;
                        StampEvent e = new StampEvent(WireCodec.SCHEMA, TestIds.event(name + "-" + i), "counter-" + device, seq, code,
                                parts[2], parts[3], "shop-1", at.plusMillis(i), seq, "boot", true, EventKind.STAMP);
                        if (!windows.get(device).tryAcquire(1, TimeUnit.MINUTES)) {
                            throw new AssertionError("counter-" + device + ": no answer for a minute");
                        }
                        gateways.get(device).publish(topics.stamps("counter-" + device), codec.encode(e), 1, false);
                    }
                    return null;
                }));
            }
            for (Future<?> f : sends) {
                f.get();
            }
            double published = (System.nanoTime() - t0) / 1e9;
            // A shed event is never answered here (these publishers do not resend like a box): fail at once.
            await().atMost(Duration.ofMinutes(5)).pollInterval(Duration.ofMillis(20)).until(() -> {
                long shed = sinks.stream().mapToLong(s -> s.metrics().shed()).sum();
                if (shed > 0) {
                    throw new AssertionError(shed + " events shed by a full ingest queue; they would never be answered");
                }
                return acked.get() >= events;
            });
            double seconds = (System.nanoTime() - t0) / 1e9;
            cpuSince(cpu0, machine0, other0, events);
            // read before the sinks close
            java.util.Map<String, Long> byName = cpuByName(threads0);
            lastThreads = String.format("%.3f / %.3f ms", byName.getOrDefault("ingest", 0L) / 1e6 / events,
                    byName.getOrDefault("ingest-check", 0L) / 1e6 / events);
            System.out.printf("bench %s: all %d published after %.2f s, all answered after %.2f s%n", name, events,
                    published, seconds);
            System.out.printf("bench %s: CPU ms per event by thread: %s%n", name, top(byName, 14, events));
            try (Database db = pgUrl != null ? PostgresDatabase.open(pgUrl, "sink", null, 2) : null) {
                long stored = db == null ? sinks.get(0).metrics().accepted() : count(db);
                assertEquals(events, stored, "every event applied once");
            }
            return events / seconds;
        } finally {
            pool.shutdownNow();
            for (MqttAsyncClient c : gateways) {
                c.disconnectForcibly(500);
                c.close();
            }
            for (SinkServer s : sinks) {
                s.close();
            }
        }
    }

    private static long count(Database db) throws Exception {
        try (Connection c = db.connection(); Statement st = c.createStatement();
                ResultSet rs = st.executeQuery("SELECT COUNT(*) FROM events WHERE outcome = 'ACCEPTED'")) {
            rs.next();
            return rs.getLong(1);
        }
    }
}
