package app.sevenstamp.autopilot.gateway.e2e;

import app.sevenstamp.autopilot.gateway.testing.GatewayProps;
import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import app.sevenstamp.autopilot.protocol.testing.MosquittoProcess;
import app.sevenstamp.autopilot.sink.SinkServer;
import app.sevenstamp.autopilot.sink.config.SinkConfig;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.http.HttpClient;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The two faults {@link FaultInjectionIT} does not cover: a network path that goes silent without a FIN
 * or RST (only the MQTT keepalive can notice it) and a full disk under the outbox. Same real parts (the
 * gateway jar on stdin, a Mosquitto subprocess, the real sink) and the same final check: per card, the
 * sink's counts equal the scans the gateway confirmed (ACCEPTED or ACCEPTED_OFFLINE), exactly.
 */
class NetworkAndDiskFaultIT {
    private static final Duration WAIT = Duration.ofSeconds(60);
    private static final String DEVICE = "fault-counter";
    private static final int REQUIRED = 10;
    /** Scans written and not yet answered; below the pipeline's queue (64), so no scan is dropped. */
    private static final int OUTSTANDING = 24;
    private static final String LOST = "lost the connection to";

    private final HttpClient http = HttpClient.newHttpClient();
    private final ObjectMapper json = new ObjectMapper();

    @TempDir
    Path dir;
    private List<String> cards;
    private String trustedKey;
    private Path mounted;
    /** STORAGE_FAULT answers seen by {@link #scan}, and the answer number of the first one. */
    private int faults;
    private int firstFaultAt = -1;
    private int answers;

    @BeforeEach
    void cards() throws Exception {
        Path sinkProperties = writeSinkProperties(null);
        cards = SinkCli.issue(sinkProperties, "coffee", 50);
        trustedKey = SinkCli.trustedKey(sinkProperties);
    }

    @AfterEach
    void unmount() throws Exception {
        if (mounted != null) {
            run("umount", "-l", mounted.toString());
        }
    }

    @Test
    void halfOpenConnectionIsDetectedByKeepaliveAndTheBacklogDrains() throws Exception {
        try (MosquittoProcess broker = MosquittoProcess.start(dir.resolve("mosquitto"));
             SinkServer sink = SinkServer.start(sinkConfig(broker.url()));
             FreezingProxy proxy = new FreezingProxy(broker.port());
             GatewayProcess gateway = GatewayProcess.start(gatewayConfig(proxy.url(),
                     "mqtt.keepAlive=5s", "mqtt.reconnect.max=2s", "outbox.dir=" + dir.resolve("outbox")),
                     dir.resolve("gateway.log"))) {
            gateway.awaitLog("uplink ready", WAIT);
            int next = scan(gateway, 0, 20, () -> false);
            Map<String, Integer> online = new TreeMap<>();
            tally(gateway.seen(), online);
            awaitSinkMatches(sink, online); // the path works before the cut
            assertFalse(gateway.log().contains(LOST), "no connection lost before the cut:\n" + gateway.log());

            long frozenAt = System.nanoTime();
            proxy.freeze(); // no byte passes any more, and no socket is closed: no FIN, no RST
            next = scan(gateway, next, 30, () -> false); // the gateway still believes it is connected
            gateway.awaitLog(LOST, Duration.ofSeconds(30));
            Duration detected = Duration.ofNanos(System.nanoTime() - frozenAt);
            System.out.println("half-open connection detected after " + detected.toMillis() + " ms (keepAlive 5 s)");
            assertTrue(gateway.isAlive());
            next = scan(gateway, next, 30, () -> false); // while reconnects are refused: stored offline
            long offline = gateway.seen().stream().filter(l -> l.startsWith("ACCEPTED_OFFLINE")).count();
            assertTrue(offline >= 1, "scans after the detection were confirmed as stored offline: " + offline);

            proxy.thaw(); // new connections pass again; the frozen one stays dead
            scan(gateway, next, 20, () -> false);
            Map<String, Integer> confirmed = new TreeMap<>();
            tally(gateway.seen(), confirmed);
            assertEquals(100, ConfirmedStamps.total(confirmed), "every scan confirmed: " + gateway.seen());
            System.out.println("half-open: " + gateway.seen().stream().filter(l -> l.startsWith("ACCEPTED ")).count()
                    + " ACCEPTED, " + offline + " ACCEPTED_OFFLINE before the thaw");
            awaitSinkMatches(sink, confirmed);
        }
    }

    @Test
    void diskFullGivesStorageFaultAndLosesNoConfirmedStamp() throws Exception {
        Path disk = Files.createDirectories(dir.resolve("small-disk"));
        mount(disk, "size=2m");
        // Broker and sink run from the start (a sink that subscribes late would miss the first publishes
        // and only get them after the gateway's 30 s ack timeout); the gateway's network path is down, so
        // every stamp stays in the outbox and the backlog grows until the disk is full.
        try (MosquittoProcess broker = MosquittoProcess.start(dir.resolve("mosquitto"));
             SinkServer sink = SinkServer.start(sinkConfig(broker.url()));
             FreezingProxy path = new FreezingProxy(broker.port())) {
            path.freeze();
            Path config = gatewayConfig(path.url(), "mqtt.keepAlive=30s", "mqtt.reconnect.max=1s",
                    "outbox.dir=" + disk.resolve("outbox"), "outbox.minFreeBytes=0", "outbox.maxBytes=1GB");
            try (GatewayProcess gateway = GatewayProcess.start(config, dir.resolve("gateway.log"))) {
                gateway.awaitLog("gateway ready", WAIT);
                int next = scan(gateway, 0, 20_000, () -> faults >= 3);
                Map<String, Integer> confirmed = new TreeMap<>();
                tally(gateway.seen(), confirmed);
                System.out.println("disk full: " + next + " scans, " + ConfirmedStamps.total(confirmed) + " confirmed, " + faults
                        + " STORAGE_FAULT; the first at scan " + firstFaultAt);
                assertTrue(faults >= 3, "STORAGE_FAULT lines: " + faults + " after " + next + " scans");
                assertTrue(gateway.isAlive(), "the gateway survives a full disk:\n" + gateway.log());
                assertTrue(ConfirmedStamps.total(confirmed) > 0, "scans were confirmed before the disk filled up");

                // The operator frees space (nothing is deleted from the outbox). The redo log's write failed first,
                // so the refused scans never reached H2; H2 writes lazily and, if its writer failed too and closed
                // the store, the outbox reopens it on the next operation (at most once a second). Either way the
                // next scans are stored again, with no restart.
                run("mount", "-o", "remount,size=64m", disk.toString());
                int[] at = {next};
                await().atMost(WAIT).pollInterval(Duration.ofMillis(300)).until(() -> {
                    at[0] = scan(gateway, at[0], 1, () -> false);
                    String last = gateway.seen().get(gateway.seen().size() - 1);
                    return last.startsWith("ACCEPTED_OFFLINE");
                });
                int faultsBefore = faults;
                scan(gateway, at[0], 20, () -> false);
                if (faults != faultsBefore) {
                    String log = gateway.log();
                    fail("no STORAGE_FAULT once there is space again: " + (faults - faultsBefore) + " of 20 scans refused;"
                            + " the end of the gateway's log:\n" + log.substring(Math.max(0, log.length() - 20_000)));
                }
                confirmed.clear();
                tally(gateway.seen(), confirmed);

                path.thaw();
                awaitSinkMatches(sink, confirmed); // every confirmed stamp once, no STORAGE_FAULT scan
            }
        }
    }

    /** Mounts a size-limited tmpfs; needs root (as the tests run in CI), and fails loudly otherwise. */
    private void mount(Path where, String options) throws IOException, InterruptedException {
        if (!"root".equals(System.getProperty("user.name"))) {
            throw new AssertionError("mounting a size-limited tmpfs needs root; run the integration tests as root"
                    + " (scripts/test does), user is " + System.getProperty("user.name"));
        }
        run("mount", "-t", "tmpfs", "-o", options, "tmpfs", where.toString());
        mounted = where;
    }

    /**
     * A TCP forwarder between the gateway and the broker. {@link #freeze()} makes every open connection a
     * black hole (bytes read are dropped, nothing is closed: a half-open path as after a cable cut or a
     * NAT timeout) and refuses new ones; {@link #thaw()} lets new connections through again.
     */
    private static final class FreezingProxy implements AutoCloseable {
        private final ServerSocket server;
        private final int target;
        private final List<Socket> sockets = new CopyOnWriteArrayList<>();
        private final List<Link> links = new CopyOnWriteArrayList<>();
        private volatile boolean frozen;

        /** One proxied connection; dead once frozen, for good. */
        private static final class Link {
            volatile boolean dead;
        }

        FreezingProxy(int target) throws IOException {
            this.target = target;
            this.server = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
            daemon("proxy-accept", this::accept).start();
        }

        String url() {
            return "tcp://127.0.0.1:" + server.getLocalPort();
        }

        void freeze() {
            frozen = true;
            links.forEach(l -> l.dead = true);
        }

        void thaw() {
            frozen = false;
        }

        private void accept() {
            int n = 0;
            while (!server.isClosed()) {
                try {
                    Socket client = server.accept();
                    sockets.add(client);
                    if (frozen) {
                        client.close(); // a path that is down refuses new connections
                        continue;
                    }
                    Socket upstream = new Socket(InetAddress.getLoopbackAddress(), target);
                    sockets.add(upstream);
                    Link link = new Link();
                    links.add(link);
                    n++;
                    daemon("proxy-" + n + "-up", () -> pump(client, upstream, link)).start();
                    daemon("proxy-" + n + "-down", () -> pump(upstream, client, link)).start();
                } catch (IOException e) {
                    // closed, or the broker is gone: the client sees its connection end
                }
            }
        }

        private void pump(Socket from, Socket to, Link link) {
            byte[] buffer = new byte[16384];
            try {
                InputStream in = from.getInputStream();
                OutputStream out = to.getOutputStream();
                int n;
                while ((n = in.read(buffer)) >= 0) {
                    if (!link.dead) {
                        out.write(buffer, 0, n);
                        out.flush();
                    }
                }
                if (!link.dead) {
                    to.shutdownOutput(); // pass an orderly close on, as a real path does
                }
            } catch (IOException e) {
                // one side closed; the other pump ends too
            }
        }

        private static Thread daemon(String name, Runnable body) {
            Thread t = new Thread(body, name);
            t.setDaemon(true);
            return t;
        }

        @Override
        public void close() throws IOException {
            server.close();
            for (Socket s : sockets) {
                s.close();
            }
        }
    }

    // ---- helpers (the same as FaultInjectionIT's) ----

    private static void run(String... command) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!p.waitFor(30, TimeUnit.SECONDS) || p.exitValue() != 0) {
            throw new AssertionError(String.join(" ", command) + " failed: " + out);
        }
    }

    /**
     * Writes {@code count} scans (round robin over the cards, starting at {@code from}) keeping at most
     * {@link #OUTSTANDING} unanswered, and stops early once {@code stop} holds. Returns the index after
     * the last scan written.
     */
    private int scan(GatewayProcess gateway, int from, int count, BooleanSupplier stop) throws IOException {
        OutputStream in = gateway.stdin();
        int written = 0;
        int answered = 0;
        while (written < count && !stop.getAsBoolean()) {
            in.write((cards.get((from + written) % cards.size()) + "\n").getBytes(StandardCharsets.US_ASCII));
            written++;
            if (written - answered >= OUTSTANDING || written == count) {
                in.flush();
            }
            while (written - answered >= OUTSTANDING || (written == count && answered < written)) {
                answer(gateway.awaitLine(NetworkAndDiskFaultIT::isAnswer, WAIT, "feedback for scan " + (answered + 1)));
                answered++;
            }
        }
        in.flush();
        while (answered < written) {
            answer(gateway.awaitLine(NetworkAndDiskFaultIT::isAnswer, WAIT, "feedback for scan " + (answered + 1)));
            answered++;
        }
        return from + written;
    }

    private void answer(String line) {
        answers++;
        if (line.startsWith("STORAGE_FAULT")) {
            faults++;
            if (firstFaultAt < 0) {
                firstFaultAt = answers;
            }
        }
    }

    private static boolean isAnswer(String line) {
        return line.startsWith("ACCEPTED") || line.startsWith("REJECTED") || line.startsWith("STORAGE_FAULT");
    }

    private static void tally(List<String> lines, Map<String, Integer> out) {
        ConfirmedStamps.tally(lines, out);
    }

    private void awaitSinkMatches(SinkServer sink, Map<String, Integer> confirmed) throws IOException, InterruptedException {
        new ConfirmedStamps(sink, DEVICE, WAIT).awaitMatches(confirmed, 0);
    }

    private Path writeSinkProperties(String brokerUrl) throws IOException {
        return FaultSinkFiles.write(dir, brokerUrl, REQUIRED);
    }

    private SinkConfig sinkConfig(String brokerUrl) throws IOException {
        return FaultSinkFiles.config(dir, brokerUrl, REQUIRED);
    }

    private Path gatewayConfig(String brokerUrl, String... extra) throws IOException {
        // outbox.dir comes with the extra lines (each test's own disk)
        return GatewayProps.minimal(trustedKey).set("device.id", DEVICE, "device.location", "test-shop",
                        "scanner.type", "stdin", "cards.programs", "coffee", "mqtt.url", brokerUrl, "mqtt.inflight", "50",
                        "mqtt.reconnect.min", "100ms", "feedback.type", "console")
                .setLines(extra).write(dir.resolve("gateway.properties"));
    }
}
