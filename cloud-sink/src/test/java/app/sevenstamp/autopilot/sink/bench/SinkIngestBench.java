package app.sevenstamp.autopilot.sink.bench;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;

import app.sevenstamp.autopilot.protocol.EventKind;
import app.sevenstamp.autopilot.protocol.StampEvent;
import app.sevenstamp.autopilot.protocol.Topics;
import app.sevenstamp.autopilot.protocol.WireCodec;
import app.sevenstamp.autopilot.protocol.card.CardSigner;
import app.sevenstamp.autopilot.protocol.testing.MosquittoProcess;
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
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Supplier;
import org.eclipse.paho.client.mqttv3.MqttClient;
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
 */
class SinkIngestBench {
    private static final int EVENTS = Integer.getInteger("bench.events", 4000);
    private static final int DEVICES = 8;
    private static final int CARDS = 200;
    private static final int BATCH = 500;
    /** {@code h2} or {@code pg} to run one database only (scripts/bench-sink: ONLY=...); all by default. */
    private static final String ONLY = System.getProperty("bench.only", "");

    @TempDir
    Path dir;
    private final List<String> rows = new ArrayList<>();

    @Test
    void measure() throws Exception {
        PostgresCluster pg = PostgresCluster.start(false);
        // Mosquitto's defaults (20 in flight, 1000 queued per client) drop a burst beyond 1000 for one
        // subscriber; real gateways resend from their outbox, this bench's publishers do not.
        try (MosquittoProcess broker = MosquittoProcess.start(dir.resolve("mosquitto"),
                "allow_anonymous true\nmax_inflight_messages 1000\nmax_queued_messages 1000000\n")) {
            Path h2raw = dir.resolve("h2raw/sink");
            if (ONLY.isEmpty() || ONLY.equals("h2")) {
                row("H2", "raw batched JDBC insert", 1, raw(() -> H2Database.open(h2raw, 8)));
                row("H2", "sink ingest", 1, ingest(broker, "h2", null, 1));
            }
            if (ONLY.isEmpty() || ONLY.equals("pg")) {
                String pgRaw = pg.newDatabase();
                row("PostgreSQL", "raw batched JDBC insert", 1, raw(() -> PostgresDatabase.open(pgRaw, "sink", null, 8)));
                row("PostgreSQL", "sink ingest", 1, ingest(broker, "pg1", pg.newDatabase(), 1));
                row("PostgreSQL", "sink ingest", 2, ingest(broker, "pg2", pg.newDatabase(), 2));
            }
        } finally {
            pg.destroy();
        }
        String table = "| database | what | instances | events | events/s | bench JVM CPU per event | machine busy "
                + "| ingest / ingest-check thread CPU per event |\n"
                + "| --- | --- | --- | --- | --- | --- | --- | --- |\n"
                + String.join("\n", rows) + "\n";
        System.out.println(table);
        Files.writeString(Path.of("target", "bench-sink.md"), table, StandardCharsets.UTF_8);
    }

    private void row(String db, String what, int instances, double perSecond) {
        rows.add("| " + db + " | " + what + " | " + instances + " | " + EVENTS + " | " + Math.round(perSecond) + " | "
                + lastCpu + " | " + lastThreads + " |");
        lastThreads = "";
    }

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
    private static String top(java.util.Map<String, Long> byName, int limit) {
        return byName.entrySet().stream().sorted(java.util.Map.Entry.<String, Long>comparingByValue().reversed()).limit(limit)
                .map(e -> String.format("%s %.3f", e.getKey(), e.getValue() / 1e6 / EVENTS))
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

    /** {busy, total} jiffies of all CPUs since boot. */
    private static long[] machineJiffies() {
        try {
            String[] f = Files.readAllLines(Path.of("/proc/stat")).get(0).trim().split("\\s+");
            long total = 0;
            for (int i = 1; i < f.length; i++) {
                total += Long.parseLong(f[i]);
            }
            long idle = Long.parseLong(f[4]) + Long.parseLong(f[5]); // idle + iowait
            return new long[] {total - idle, total};
        } catch (Exception e) {
            return new long[] {0, 0};
        }
    }

    private void cpuSince(long jvm0, long[] machine0) {
        long[] m = machineJiffies();
        double busy = m[1] == machine0[1] ? 0 : 100.0 * (m[0] - machine0[0]) / (m[1] - machine0[1]);
        lastCpu = String.format("%.2f ms | %.0f %%", (jvmCpuNanos() - jvm0) / 1e6 / EVENTS, busy);
    }

    /** Rows into {@code events} in batches of 500, one commit per batch. */
    private double raw(Supplier<Database> databases) throws Exception {
        Database db = databases.get();
        try (SinkStore store = SinkStore.open(db); Connection c = db.connection()) {
            c.setAutoCommit(false);
            long cpu0 = jvmCpuNanos();
            long[] machine0 = machineJiffies();
            long t0 = System.nanoTime();
            try (PreparedStatement ps = c.prepareStatement("INSERT INTO events (event_id, device_id, seq, card_id, "
                    + "program_id, kind, device_time, received_at, clock_synced, outcome, reason) "
                    + "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")) {
                Instant now = Instant.now();
                for (int i = 0; i < EVENTS; i++) {
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
            cpuSince(cpu0, machine0);
            assertEquals(EVENTS, store.countEvents());
            return EVENTS / seconds;
        }
    }

    private double ingest(MosquittoProcess broker, String name, String pgUrl, int instances) throws Exception {
        List<SinkServer> sinks = new ArrayList<>();
        List<MqttClient> gateways = new ArrayList<>();
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
            for (int d = 0; d < DEVICES; d++) {
                MqttClient client = new MqttClient(broker.url(), "bench-gw-" + name + "-" + d, new MemoryPersistence());
                MqttConnectOptions o = new MqttConnectOptions();
                o.setMaxInflight(1000);
                client.connect(o);
                client.subscribe(topics.acks("counter-" + d), 1, (t, m) -> acked.incrementAndGet());
                gateways.add(client);
            }
            Instant at = Instant.parse("2026-11-23T08:00:00Z");
            long cpu0 = jvmCpuNanos();
            long[] machine0 = machineJiffies();
            java.util.Map<Long, Long> threads0 = threadCpu();
            long t0 = System.nanoTime();
            List<Future<?>> sends = new ArrayList<>();
            for (int d = 0; d < DEVICES; d++) {
                int device = d;
                sends.add(pool.submit(() -> {
                    for (int i = device; i < EVENTS; i += DEVICES) {
                        String code = cards.get(i % CARDS);
                        String[] parts = code.split("\\.");
                        // Each device counts 1, 2, 3, ... like a real gateway: a stride here would open a
                        // sequence gap (a row and a WARN) on every event and measure that instead.
                        long seq = i / DEVICES + 1;
                        StampEvent e = new StampEvent(WireCodec.SCHEMA, TestIds.event(name + "-" + i), "counter-" + device, seq, code,
                                parts[2], parts[3], "shop-1", at.plusMillis(i), seq, "boot", true, EventKind.STAMP);
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
                return acked.get() >= EVENTS;
            });
            double seconds = (System.nanoTime() - t0) / 1e9;
            cpuSince(cpu0, machine0);
            // read before the sinks close
            java.util.Map<String, Long> byName = cpuByName(threads0);
            lastThreads = String.format("%.3f / %.3f ms", byName.getOrDefault("ingest", 0L) / 1e6 / EVENTS,
                    byName.getOrDefault("ingest-check", 0L) / 1e6 / EVENTS);
            System.out.printf("bench %s: all %d published after %.2f s, all answered after %.2f s%n", name, EVENTS,
                    published, seconds);
            System.out.printf("bench %s: CPU ms per event by thread: %s%n", name, top(byName, 14));
            try (Database db = pgUrl != null ? PostgresDatabase.open(pgUrl, "sink", null, 2) : null) {
                long stored = db == null ? sinks.get(0).metrics().accepted() : count(db);
                assertEquals(EVENTS, stored, "every event applied once");
            }
            return EVENTS / seconds;
        } finally {
            pool.shutdownNow();
            for (MqttClient c : gateways) {
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
