package app.sevenstamp.autopilot.sink.bench;

import app.sevenstamp.autopilot.protocol.Topics;
import app.sevenstamp.autopilot.protocol.card.CardSigner;
import app.sevenstamp.autopilot.protocol.testing.MosquittoProcess;
import app.sevenstamp.autopilot.protocol.testing.Vectors;
import app.sevenstamp.autopilot.sink.SinkServer;
import app.sevenstamp.autopilot.sink.config.SinkConfig;
import app.sevenstamp.autopilot.sink.store.Database;
import app.sevenstamp.autopilot.sink.store.PostgresDatabase;
import app.sevenstamp.autopilot.sink.testing.ArtemisCluster;
import app.sevenstamp.autopilot.sink.testing.PostgresCluster;
import app.sevenstamp.autopilot.sink.testing.TestSink;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;

/**
 * A fleet in one process: {@code boxes} simulated counter boxes ({@link SimBox}, each its own MQTT
 * connection, device id and sequence numbers) against a Mosquitto, {@code sinks} sink instances sharing
 * the stamps subscription, and one PostgreSQL with fsync on.
 *
 * <ol>
 *   <li>Steady load: every box scans once per {@code scanEvery} (each box starts at a random phase) for
 *       {@code steady}; the time from a stamp's first publish to its ack gives p50 and p99.</li>
 *   <li>Reconnect storm: the broker is killed, every box scans {@code backlog} stamps into its outbox, the
 *       broker comes back, and every box reconnects (jittered backoff) and drains. Reported: time from the
 *       broker's return until the last ack, each box's drain time (the slowest against the median says
 *       whether any box starved), and reconnects.</li>
 * </ol>
 * Then the database is asked: every stamp of every box is there exactly once (count and distinct
 * sequence numbers per device equal what the box produced). Timings are reported, never asserted.
 */
final class FleetSim {
    /** What to run: on one Mosquitto ({@code brokerNodes} 1) or on an Artemis cluster of that many nodes. */
    record Plan(int boxes, Duration steady, Duration scanEvery, int backlog, int window, int sinks, int brokerNodes) {
        Plan(int boxes, Duration steady, Duration scanEvery, int backlog, int window, int sinks) {
            this(boxes, steady, scanEvery, backlog, window, sinks, 1);
        }

        String broker() {
            return brokerNodes == 1 ? "Mosquitto" : brokerNodes + "-node Artemis cluster";
        }
    }

    /** What happened. */
    record Report(Plan plan, long steadyStamps, double steadyP50Ms, double steadyP99Ms, long stormStamps,
            double catchUpSeconds, double medianDrainSeconds, double slowestDrainSeconds, int reconnectsMin,
            long storedEvents, List<String> wrongDevices) {
        String table() {
            return String.join("\n",
                    "| fleet simulation | value |",
                    "| --- | --- |",
                    "| boxes, sinks | " + plan.boxes() + ", " + plan.sinks() + " (PostgreSQL, " + plan.broker() + ") |",
                    "| steady: one scan per box per " + plan.scanEvery().toSeconds() + " s for " + plan.steady().toSeconds()
                            + " s | " + steadyStamps + " stamps, publish to ack p50 " + fmt(steadyP50Ms) + " ms, p99 "
                            + fmt(steadyP99Ms) + " ms |",
                    "| storm: broker down, " + plan.backlog() + " stamps per box, broker back | " + stormStamps
                            + " stamps caught up in " + fmt(catchUpSeconds) + " s |",
                    "| drain time per box after the broker's return | median " + fmt(medianDrainSeconds) + " s, slowest "
                            + fmt(slowestDrainSeconds) + " s |",
                    "| stored once each / produced | " + storedEvents + " / " + (steadyStamps + stormStamps)
                            + (wrongDevices.isEmpty() ? "" : ", wrong on " + wrongDevices) + " |");
        }
    }

    private FleetSim() {
    }

    static Report run(Path dir, Plan plan, PrintStream log) throws Exception {
        PostgresCluster pg = PostgresCluster.start(false);
        ScheduledExecutorService timers = Executors.newScheduledThreadPool(4, r -> {
            Thread t = new Thread(r, "fleet-sim-timer");
            t.setDaemon(true);
            return t;
        });
        List<SinkServer> sinks = new ArrayList<>();
        List<SimBox> boxes = new ArrayList<>();
        String runTag = HexFormat.of().formatHex(new SecureRandom().generateSeed(4));
        try (Brokers broker = brokers(dir, plan.brokerNodes())) {
            String pgUrl = pg.newDatabase();
            Path key = dir.resolve("signing.key");
            Files.writeString(key, "keyId=k1\nseed=" + Vectors.json("card-codes.json").get("seed").asText() + "\n",
                    StandardCharsets.UTF_8);
            for (int i = 0; i < plan.sinks(); i++) {
                sinks.add(SinkServer.start(sinkConfig(dir, key, broker.url(i), pgUrl, i, plan.sinks())));
            }
            CardSigner signer = Vectors.signer();
            SecureRandom random = new SecureRandom();
            List<String> cards = new ArrayList<>();
            for (int i = 0; i < 200; i++) {
                cards.add(signer.sign("coffee", CardSigner.newCardId(random)));
            }
            Topics topics = new Topics(Topics.DEFAULT_PREFIX);
            ConcurrentLinkedQueue<Long> latencies = new ConcurrentLinkedQueue<>();
            boolean[] timing = {true};
            for (int i = 0; i < plan.boxes(); i++) {
                boxes.add(new SimBox(broker.url(i), i, runTag, topics, cards, plan.window(), timers, nanos -> {
                    if (timing[0]) {
                        latencies.add(nanos);
                    }
                }));
            }
            long t0 = System.nanoTime();
            boxes.forEach(SimBox::connect);
            await(() -> boxes.stream().allMatch(b -> b.connects() > 0), Duration.ofMinutes(2), "every box connected");
            log.printf("fleet-sim: %d boxes connected in %.1f s%n", plan.boxes(), (System.nanoTime() - t0) / 1e9);
            var sweep = timers.scheduleWithFixedDelay(() -> boxes.forEach(SimBox::pump), 1, 1, TimeUnit.SECONDS);

            // 1. steady load
            long periodMs = plan.scanEvery().toMillis();
            List<ScheduledFuture<?>> scanners = new ArrayList<>();
            for (SimBox b : boxes) {
                scanners.add(timers.scheduleAtFixedRate(b::scan, ThreadLocalRandom.current().nextLong(periodMs), periodMs,
                        TimeUnit.MILLISECONDS));
            }
            Thread.sleep(plan.steady().toMillis());
            scanners.forEach(f -> f.cancel(false));
            await(() -> boxes.stream().allMatch(SimBox::drained), Duration.ofMinutes(2), "the steady load acknowledged");
            long steadyStamps = boxes.stream().mapToLong(SimBox::produced).sum();
            long[] steady = latencies.stream().mapToLong(Long::longValue).sorted().toArray();
            timing[0] = false;
            log.printf("fleet-sim: steady %d stamps, p50 %.1f ms, p99 %.1f ms%n", steadyStamps, pct(steady, 50), pct(steady, 99));

            // 2. reconnect storm
            int[] connectsBefore = boxes.stream().mapToInt(SimBox::connects).toArray();
            broker.stop(true);
            for (SimBox b : boxes) {
                for (int i = 0; i < plan.backlog(); i++) {
                    b.scan();
                }
            }
            long stormStamps = (long) plan.boxes() * plan.backlog();
            Thread.sleep(2_000); // every box has noticed and is backing off
            long back = System.nanoTime();
            broker.start();
            log.printf("fleet-sim: broker accepting again %.1f s after its start (in the catch-up time)%n",
                    (System.nanoTime() - back) / 1e9);
            await(() -> boxes.stream().allMatch(SimBox::drained), Duration.ofMinutes(30), "the storm's backlog acknowledged");
            double catchUp = (System.nanoTime() - back) / 1e9;
            long[] drains = boxes.stream().mapToLong(SimBox::drainNanos).sorted().toArray();
            int reconnectsMin = Integer.MAX_VALUE;
            for (int i = 0; i < boxes.size(); i++) {
                reconnectsMin = Math.min(reconnectsMin, boxes.get(i).connects() - connectsBefore[i]);
            }
            sweep.cancel(false);
            log.printf("fleet-sim: storm %d stamps caught up in %.1f s%n", stormStamps, catchUp);

            // 3. exactly once, per device, in the database
            List<String> wrong = new ArrayList<>();
            long stored = 0;
            try (Database db = PostgresDatabase.open(pgUrl, "sink", null, 2); Connection c = db.connection();
                    PreparedStatement ps = c.prepareStatement("SELECT device_id, COUNT(*), COUNT(DISTINCT seq), MAX(seq) "
                            + "FROM events WHERE device_id LIKE 'sim-%' GROUP BY device_id")) {
                Map<String, Long> produced = new HashMap<>();
                boxes.forEach(b -> produced.put(b.deviceId, b.produced()));
                try (ResultSet rs = ps.executeQuery()) {
                    while (rs.next()) {
                        String device = rs.getString(1);
                        long count = rs.getLong(2);
                        stored += count;
                        Long want = produced.remove(device);
                        if (want == null || count != want || rs.getLong(3) != want || rs.getLong(4) != want) {
                            wrong.add(device + " " + count + "/" + rs.getLong(3) + "/" + rs.getLong(4) + " of " + want);
                        }
                    }
                }
                produced.keySet().forEach(d -> wrong.add(d + " has nothing stored"));
            }
            return new Report(plan, steadyStamps, pct(steady, 50), pct(steady, 99), stormStamps, catchUp,
                    drains[drains.length / 2] / 1e9, drains[drains.length - 1] / 1e9, reconnectsMin, stored, wrong);
        } finally {
            boxes.forEach(SimBox::close);
            for (SinkServer s : sinks) {
                s.close();
            }
            timers.shutdownNow();
            pg.destroy();
        }
    }

    /** The broker side of the simulation; box or sink {@code i} connects to {@code url(i)}. */
    private interface Brokers extends AutoCloseable {
        String url(int i);

        void stop(boolean kill);

        void start();

        @Override
        void close();
    }

    private static Brokers brokers(Path dir, int nodes) {
        if (nodes == 1) {
            // A broker sized as docs/ advise for a fleet: one subscriber takes every box's stamps.
            MosquittoProcess m = MosquittoProcess.start(dir.resolve("mosquitto"),
                    "allow_anonymous true\n" + MosquittoProcess.FLEET_TUNING);
            return new Brokers() {
                public String url(int i) {
                    return m.url();
                }

                public void stop(boolean kill) {
                    m.stop(kill);
                }

                public void start() {
                    m.start();
                }

                public void close() {
                    m.close();
                }
            };
        }
        // Boxes and sinks spread over the nodes in turn: sink i on node i, so every node has a share-group member.
        ArtemisCluster c = ArtemisCluster.start(dir.resolve("artemis"), nodes, "");
        return new Brokers() {
            public String url(int i) {
                return c.mqttUrl(i % c.size());
            }

            public void stop(boolean kill) {
                c.stop(kill);
            }

            public void start() {
                c.start();
            }

            public void close() {
                c.close();
            }
        };
    }

    private static SinkConfig sinkConfig(Path dir, Path key, String brokerUrl, String pgUrl, int i, int instances)
            throws Exception {
        TestSink sink = TestSink.in(Files.createDirectories(dir.resolve("sink-" + i))).broker(brokerUrl)
                .set("store.url", pgUrl).set("store.user", "sink").set("mqtt.clientId", "fleet-sink-" + i).program("coffee", 10);
        if (instances > 1) {
            sink.set("mqtt.shareGroup", "fleet");
        }
        Files.createDirectories(sink.storeDir());
        Files.copy(key, sink.storeDir().resolve("signing.key"));
        return sink.config();
    }

    private static void await(BooleanSupplier done, Duration limit, String what) throws InterruptedException {
        long end = System.nanoTime() + limit.toNanos();
        while (!done.getAsBoolean()) {
            if (System.nanoTime() > end) {
                throw new AssertionError("not within " + limit.toSeconds() + " s: " + what);
            }
            Thread.sleep(50);
        }
    }

    private static double pct(long[] sortedNanos, int p) {
        if (sortedNanos.length == 0) {
            return Double.NaN;
        }
        int i = (int) Math.min(sortedNanos.length - 1, Math.ceil(sortedNanos.length * p / 100.0) - 1);
        return sortedNanos[Math.max(0, i)] / 1e6;
    }

    private static String fmt(double v) {
        return String.format("%.1f", v);
    }
}
