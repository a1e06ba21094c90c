package app.sevenstamp.autopilot.gateway.e2e;

import app.sevenstamp.autopilot.gateway.outbox.StampDraft;
import app.sevenstamp.autopilot.protocol.EventIds;
import app.sevenstamp.autopilot.protocol.EventKind;
import app.sevenstamp.autopilot.protocol.StampEvent;
import app.sevenstamp.autopilot.protocol.WireCodec;
import app.sevenstamp.autopilot.protocol.support.Settings;
import app.sevenstamp.autopilot.protocol.testing.MosquittoProcess;
import app.sevenstamp.autopilot.sink.SinkServer;
import app.sevenstamp.autopilot.sink.config.SinkConfig;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.util.Arrays;
import java.util.List;
import java.util.Properties;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import org.eclipse.paho.client.mqttv3.IMqttActionListener;
import org.eclipse.paho.client.mqttv3.IMqttToken;
import org.eclipse.paho.client.mqttv3.MqttAsyncClient;
import org.eclipse.paho.client.mqttv3.MqttConnectOptions;
import org.eclipse.paho.client.mqttv3.persist.MemoryPersistence;

/**
 * {@code scripts/bench}: a benchmark, not a test. On the real parts (the gateway jar, Mosquitto, the sink)
 * it prints scan-to-feedback latency next to raw fsync latency on the same disk, the drain rate of a
 * large buffered backlog next to a raw Paho QoS 1 publish rate to the same broker, and the gateway's
 * resident memory and start-to-ready time. Run from the gateway module directory.
 *
 * <p>Arguments (all optional): {@code scans backlog inflight}, defaults 1000 100000 100.
 */
public final class Bench {
    private Bench() {
    }

    public static void main(String[] args) throws Exception {
        int scans = args.length > 0 ? Integer.parseInt(args[0]) : 1000;
        int backlog = args.length > 1 ? Integer.parseInt(args[1]) : 100_000;
        int inflight = args.length > 2 ? Integer.parseInt(args[2]) : 100;
        Path work = Files.createTempDirectory(Path.of("target").toAbsolutePath(), "bench-");
        System.out.printf("7stamp Autopilot benchmark: %d scans, backlog %d, mqtt.inflight %d, work dir %s%n",
                scans, backlog, inflight, work);

        long[] fsync = fsync(work, 2000);
        try (MosquittoProcess broker = MosquittoProcess.start(work.resolve("mosquitto"))) {
            Path sinkProps = work.resolve("sink.properties");
            Properties p = new Properties();
            p.setProperty("store.dir", work.resolve("sink").toString());
            p.setProperty("http.port", "0");
            p.setProperty("broker.mode", "external");
            p.setProperty("broker.url", broker.url());
            p.setProperty("program.coffee.stampsRequired", "10");
            try (var out = Files.newBufferedWriter(sinkProps)) {
                p.store(out, "bench");
            }
            List<String> cards = SinkCli.issue(sinkProps, "coffee", 50);
            String key = SinkCli.trustedKey(sinkProps);
            Path gwProps = work.resolve("gateway.properties");
            Path outbox = work.resolve("outbox");
            Files.writeString(gwProps, String.join("\n", "device.id=bench-counter", "device.location=bench",
                    "scanner.type=stdin", "cards.trustedKeys=" + key, "outbox.dir=" + outbox, "mqtt.url=" + broker.url(),
                    "mqtt.inflight=" + inflight, "feedback.type=console", ""));
            try (SinkServer sink = SinkServer.start(SinkConfig.from(new Settings(p, sinkProps.toString())))) {
                // start-to-ready, latency, memory
                long t0 = System.nanoTime();
                long[] latency = new long[scans];
                long readyMs;
                long rssIdle;
                long rssAfterScans;
                try (GatewayProcess g = GatewayProcess.start(gwProps, work.resolve("gateway-1.log"))) {
                    g.awaitLog("gateway ready", java.time.Duration.ofSeconds(60));
                    readyMs = (System.nanoTime() - t0) / 1_000_000;
                    g.awaitLog("uplink ready", java.time.Duration.ofSeconds(60));
                    rssIdle = rssKb(g.pid());
                    OutputStream in = g.stdin();
                    for (int i = 0; i < scans; i++) {
                        byte[] line = (cards.get(i % cards.size()) + "\n").getBytes(StandardCharsets.US_ASCII);
                        long s = System.nanoTime();
                        in.write(line);
                        in.flush();
                        g.awaitLine(l -> l.startsWith("ACCEPTED") || l.startsWith("STORAGE") || l.startsWith("REJECTED"),
                                java.time.Duration.ofSeconds(30), "feedback");
                        latency[i] = System.nanoTime() - s;
                    }
                    rssAfterScans = rssKb(g.pid());
                    g.terminate(java.time.Duration.ofSeconds(10));
                }
                long acceptedBefore = sink.metrics().accepted();
                long fillStart = System.nanoTime();
                fill(outbox, backlog, cards);
                long fillMs = (System.nanoTime() - fillStart) / 1_000_000;

                long drainMs;
                long rssDrain;
                try (GatewayProcess g = GatewayProcess.start(gwProps, work.resolve("gateway-2.log"))) {
                    g.awaitLog("uplink ready", java.time.Duration.ofSeconds(60));
                    long d0 = System.nanoTime();
                    long peak = 0;
                    while (sink.metrics().accepted() < acceptedBefore + backlog) {
                        Thread.sleep(50); // polling a counter of another component; a benchmark, not a test
                        if (!g.isAlive()) {
                            throw new IllegalStateException("gateway died during the drain:\n" + g.log());
                        }
                        peak = Math.max(peak, rssKb(g.pid()));
                    }
                    drainMs = (System.nanoTime() - d0) / 1_000_000;
                    rssDrain = peak;
                }
                double drainRate = backlog * 1000.0 / Math.max(1, drainMs);
                double rawRate = rawPublishRate(broker.url(), backlog, inflight, 420);

                System.out.println();
                System.out.printf("machine: %d CPUs, %s; disk of %s: %s%n", Runtime.getRuntime().availableProcessors(),
                        cpuModel(), work, disk(work));
                System.out.printf("raw fsync (512 B write + fdatasync), same disk: p50 %.2f ms, p99 %.2f ms%n",
                        ms(pct(fsync, 50)), ms(pct(fsync, 99)));
                Arrays.sort(latency);
                System.out.printf("scan-to-feedback (stdin -> ACCEPTED line, online, %d scans): p50 %.2f ms, p99 %.2f ms"
                        + " = %.1fx / %.1fx raw fsync%n", scans, ms(pct(latency, 50)), ms(pct(latency, 99)),
                        (double) pct(latency, 50) / pct(fsync, 50), (double) pct(latency, 99) / pct(fsync, 99));
                System.out.printf("drain of %d buffered stamps to the sink's acknowledgement: %.0f stamps/s (%d ms); "
                        + "raw Paho QoS 1 publish, same broker, same window: %.0f msg/s; ratio %.2f%n", backlog, drainRate,
                        drainMs, rawRate, drainRate / rawRate);
                System.out.printf("(backlog written straight into the outbox file in %d ms)%n", fillMs);
                System.out.printf("gateway start-to-ready (process spawn to 'gateway ready'): %d ms%n", readyMs);
                System.out.printf("gateway VmRSS (-Xmx64m): idle %d KB, after %d scans %d KB, peak during drain %d KB%n",
                        rssIdle, scans, rssAfterScans, rssDrain);
                // feedback-latency (GPIO pattern start) measurements go here once the feedback work adds them
            }
        }
    }

    /** Writes {@code n} valid stamp events into the outbox file, as if scanned while offline. */
    private static void fill(Path outbox, int n, List<String> cards) throws Exception {
        WireCodec codec = new WireCodec();
        String url = "jdbc:h2:file:" + outbox.resolve("outbox") + ";WRITE_DELAY=0";
        try (Connection c = DriverManager.getConnection(url, "sa", ""); Statement st = c.createStatement()) {
            c.setAutoCommit(false);
            long seq;
            try (ResultSet rs = st.executeQuery("SELECT next_seq FROM outbox_seq WHERE id = 1")) {
                rs.next();
                seq = rs.getLong(1);
            }
            try (PreparedStatement ins = c.prepareStatement("INSERT INTO outbox (seq, event_id, payload, created_at, "
                    + "boot_id, mono_nanos, clock_synced) VALUES (?, ?, ?, ?, ?, ?, TRUE)")) {
                Instant now = Instant.now();
                for (int i = 0; i < n; i++, seq++) {
                    String code = cards.get(i % cards.size());
                    String[] parts = code.split("\\.");
                    StampEvent e = new StampDraft(EventIds.next(now.toEpochMilli()), "bench-counter", code, parts[2],
                            parts[3], "bench", now, System.nanoTime(), "bench-boot", true, EventKind.STAMP).withSeq(seq);
                    ins.setLong(1, seq);
                    ins.setString(2, e.eventId());
                    ins.setString(3, new String(codec.encode(e), StandardCharsets.UTF_8));
                    ins.setObject(4, OffsetDateTime.ofInstant(now, ZoneOffset.UTC));
                    ins.setString(5, e.bootId());
                    ins.setLong(6, e.monotonicNanos());
                    ins.addBatch();
                    if (i % 1000 == 999) {
                        ins.executeBatch();
                    }
                }
                ins.executeBatch();
            }
            st.execute("UPDATE outbox_seq SET next_seq = " + seq + " WHERE id = 1");
            c.commit();
            st.execute("SHUTDOWN");
        }
    }

    private static double rawPublishRate(String url, int n, int window, int size) throws Exception {
        MqttAsyncClient client = new MqttAsyncClient(url, "bench-raw", new MemoryPersistence());
        MqttConnectOptions o = new MqttConnectOptions();
        o.setMaxInflight(window);
        o.setCleanSession(true);
        client.connect(o).waitForCompletion(10_000);
        Semaphore room = new Semaphore(window);
        byte[] payload = new byte[size];
        Arrays.fill(payload, (byte) 'x');
        IMqttActionListener done = new IMqttActionListener() {
            @Override
            public void onSuccess(IMqttToken token) {
                room.release();
            }

            @Override
            public void onFailure(IMqttToken token, Throwable e) {
                room.release();
            }
        };
        long t0 = System.nanoTime();
        for (int i = 0; i < n; i++) {
            room.acquire();
            client.publish("bench/raw", payload, 1, false, null, done);
        }
        room.acquire(window);
        long took = System.nanoTime() - t0;
        client.disconnect().waitForCompletion(5000);
        client.close();
        return n * 1e9 / took;
    }

    private static long[] fsync(Path dir, int n) throws Exception {
        long[] out = new long[n];
        ByteBuffer buf = ByteBuffer.allocate(512);
        try (FileChannel ch = FileChannel.open(dir.resolve("fsync.bin"), StandardOpenOption.CREATE,
                StandardOpenOption.WRITE, StandardOpenOption.READ)) {
            for (int i = 0; i < n; i++) {
                buf.clear();
                long s = System.nanoTime();
                ch.write(buf, (long) (i % 64) * 4096);
                ch.force(false);
                out[i] = System.nanoTime() - s;
            }
        }
        Arrays.sort(out);
        return out;
    }

    private static long pct(long[] sorted, int p) {
        return sorted[Math.min(sorted.length - 1, (int) Math.ceil(sorted.length * p / 100.0) - 1)];
    }

    private static double ms(long nanos) {
        return nanos / 1e6;
    }

    private static long rssKb(long pid) {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/" + pid + "/status"))) {
                if (line.startsWith("VmRSS:")) {
                    return Long.parseLong(line.replaceAll("\\D", ""));
                }
            }
        } catch (Exception e) {
            return -1;
        }
        return -1;
    }

    private static String cpuModel() {
        try {
            return Files.readAllLines(Path.of("/proc/cpuinfo")).stream().filter(l -> l.startsWith("model name"))
                    .findFirst().map(l -> l.substring(l.indexOf(':') + 1).trim()).orElse("unknown CPU");
        } catch (Exception e) {
            return "unknown CPU";
        }
    }

    private static String disk(Path dir) {
        try {
            Process p = new ProcessBuilder("df", "-hT", dir.toString()).redirectErrorStream(true).start();
            List<String> lines = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).lines().toList();
            p.waitFor(5, TimeUnit.SECONDS);
            return lines.size() > 1 ? lines.get(1).replaceAll("\\s+", " ") : "unknown";
        } catch (Exception e) {
            return "unknown";
        }
    }
}
