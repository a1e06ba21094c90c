package app.sevenstamp.autopilot.gateway.uplink;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import app.sevenstamp.autopilot.gateway.RecordingFeedback;
import app.sevenstamp.autopilot.gateway.config.MqttSettings;
import app.sevenstamp.autopilot.gateway.feedback.Signal;
import app.sevenstamp.autopilot.gateway.outbox.Outbox;
import app.sevenstamp.autopilot.gateway.outbox.OutboxLimits;
import app.sevenstamp.autopilot.gateway.outbox.StampDraft;
import app.sevenstamp.autopilot.gateway.support.Ticker;
import app.sevenstamp.autopilot.protocol.EventIds;
import app.sevenstamp.autopilot.protocol.EventKind;
import app.sevenstamp.autopilot.protocol.support.MqttTls;
import app.sevenstamp.autopilot.protocol.testing.CapturedLog;
import app.sevenstamp.autopilot.protocol.testing.StallingProxy;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.stream.LongStream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.tinylog.Level;

/** The uplink against a real broker (Moquette, in-process) and a real Paho client as the sink. */
class UplinkIT {
    private static final String DEVICE = "it-counter";
    private static final String BOOT = "it-boot";
    private static final Duration WAIT = Duration.ofSeconds(20);

    @TempDir
    Path dir;

    private Outbox outbox;
    private final RecordingFeedback feedback = new RecordingFeedback();
    private final List<AutoCloseable> open = new ArrayList<>();
    private Uplink uplink;
    /** A size-limited tmpfs mounted by the test, unmounted after the outbox is closed. */
    private Path mounted;

    @BeforeEach
    void openOutbox() throws Exception {
        outbox = Outbox.open(dir, Clock.systemUTC());
    }

    @AfterEach
    void closeAll() throws Exception {
        if (uplink != null) {
            uplink.close(Duration.ofSeconds(5));
        }
        for (int i = open.size() - 1; i >= 0; i--) {
            open.get(i).close();
        }
        outbox.close(Duration.ofSeconds(5));
        if (mounted != null) {
            run("umount", "-l", mounted.toString());
        }
    }

    private <T extends AutoCloseable> T closeLater(T resource) {
        open.add(resource);
        return resource;
    }

    private Uplink startUplink(String url, int inflight, Duration ackTimeout) {
        return startUplink(url, inflight, ackTimeout, Duration.ofSeconds(10), Duration.ofMillis(500));
    }

    private Uplink startUplink(String url, int inflight, Duration ackTimeout, Duration connectTimeout,
            Duration reconnectMax) {
        return startUplink(url, inflight, ackTimeout, connectTimeout, reconnectMax, Duration.ofSeconds(5));
    }

    private Uplink startUplink(String url, int inflight, Duration ackTimeout, Duration connectTimeout,
            Duration reconnectMax, Duration keepAlive) {
        MqttSettings settings = new MqttSettings(url, "7stamp/v1", DEVICE, null, null, keepAlive, connectTimeout, inflight,
                Duration.ofMillis(100), reconnectMax, MqttTls.NONE);
        uplink = new Uplink(settings, DEVICE, outbox, feedback, Ticker.SYSTEM, BOOT, ackTimeout,
                () -> ThreadLocalRandom.current().nextDouble(), java.time.Clock.systemUTC(), () -> true);
        uplink.start();
        return uplink;
    }

    private void append(int n, long scannedAtNanos) {
        for (int i = 0; i < n; i++) {
            outbox.append(new StampDraft(EventIds.next(System.currentTimeMillis()), DEVICE,
                    "7S1.k1.coffee.ABCDEFGHJKMNPQRS.sig", "coffee", "ABCDEFGHJKMNPQRS", "shop-12",
                    java.time.Instant.now(), scannedAtNanos, BOOT, true, EventKind.STAMP)).join();
        }
        if (uplink != null) {
            uplink.wake();
        }
    }

    private void append(int n) {
        append(n, System.nanoTime());
    }

    private long backlog() {
        return outbox.count().join();
    }

    private static List<Long> seqs(long from, long to) {
        return LongStream.rangeClosed(from, to).boxed().toList();
    }

    @Test
    void eventsArePublishedInOrderAndDeletedWhenTheSinkAcks() throws Exception {
        TestBroker broker = closeLater(TestBroker.start());
        FakeSink sink = closeLater(FakeSink.acking(broker.url()));
        append(25);
        startUplink(broker.url(), 10, Duration.ofSeconds(30));
        await().atMost(WAIT).until(() -> backlog() == 0);
        assertEquals(seqs(1, 25), sink.receivedSeqs());
        assertTrue(uplink.isConnected());

        append(3); // while connected: the wake sends at once
        await().atMost(WAIT).until(() -> backlog() == 0);
        assertEquals(seqs(1, 28), sink.receivedSeqs());
        assertEquals(DEVICE, sink.received().get(0).deviceId());
    }

    @Test
    void atMostInflightEventsWaitForTheSinkAndNothingIsDeletedWithoutItsAck() throws Exception {
        TestBroker broker = closeLater(TestBroker.start());
        FakeSink sink = closeLater(FakeSink.silent(broker.url()));
        startUplink(broker.url(), 3, Duration.ofSeconds(30));
        await().atMost(WAIT).until(uplink::isConnected);
        append(5);
        await().atMost(WAIT).until(() -> sink.received().size() == 3);
        // a broker PUBACK is not an acknowledgement: the window stays full and the outbox keeps all five
        await().during(Duration.ofMillis(500)).atMost(Duration.ofSeconds(2))
                .until(() -> sink.received().size() == 3 && backlog() == 5);
        assertEquals(seqs(1, 3), sink.receivedSeqs());

        sink.ackAllReceived(FakeSink::accepted);
        sink.answerWith(FakeSink::accepted);
        await().atMost(WAIT).until(() -> backlog() == 0);
        assertEquals(seqs(1, 5), sink.receivedSeqs());
    }

    @Test
    void rejectedAndDuplicateAcksAlsoClearTheOutbox() throws Exception {
        TestBroker broker = closeLater(TestBroker.start());
        closeLater(FakeSink.acking(broker.url())).answerWith(FakeSink::rejected);
        append(2);
        startUplink(broker.url(), 10, Duration.ofSeconds(30));
        await().atMost(WAIT).until(() -> backlog() == 0);
        assertEquals(List.of(), feedback.signals(), "a rejected event gives no counter feedback later");
    }

    @Test
    void unacknowledgedEventsAreSentAgainAfterTheBrokerRestarts() throws Exception {
        TestBroker broker = closeLater(TestBroker.start());
        FakeSink silent = FakeSink.silent(broker.url());
        startUplink(broker.url(), 10, Duration.ofSeconds(2));
        await().atMost(WAIT).until(uplink::isConnected);
        append(4);
        await().atMost(WAIT).until(() -> silent.received().size() == 4);
        assertEquals(4, backlog());

        broker.stop();
        silent.close();
        await().atMost(WAIT).until(() -> !uplink.isConnected());
        append(2); // scanned while the broker is down
        broker.startAgain();
        FakeSink sink = closeLater(FakeSink.acking(broker.url()));

        await().atMost(WAIT).until(() -> backlog() == 0);
        assertTrue(uplink.isConnected());
        List<Long> resent = sink.receivedSeqs();
        assertEquals(seqs(1, 6), resent.stream().distinct().sorted().toList(), "everything arrives: " + resent);
        assertEquals(seqs(1, 6), resent.subList(0, 6), "in sequence order: " + resent);
    }

    @Test
    void theFirstConnectIsRetriedUntilTheBrokerIsUp() throws Exception {
        TestBroker broker = closeLater(TestBroker.notStarted());
        // The uplink may connect and publish before the sink below has subscribed (its retry is every
        // 100-500 ms); those publishes reach no one, so the resend after the ack timeout must fall inside WAIT.
        startUplink(broker.url(), 10, Duration.ofSeconds(2));
        append(3);
        await().during(Duration.ofMillis(300)).atMost(Duration.ofSeconds(2)).until(() -> !uplink.isConnected());
        broker.startAgain();
        FakeSink sink = closeLater(FakeSink.acking(broker.url()));
        await().atMost(WAIT).until(() -> backlog() == 0);
        assertEquals(seqs(1, 3), sink.receivedSeqs().subList(0, 3));
    }

    /*
     * A broker (or a proxy, or a hostile host) that accepts the TCP connection and never answers the
     * CONNECT: Paho 1.2.5 bounds the TCP connect and the TLS handshake by the connection timeout, not
     * the wait for CONNACK, and its async connect then never calls back.
     */
    @Test
    void aBrokerThatAcceptsAndNeverAnswersIsGivenUpOnAndTheOutboxDrainsOnceItAnswers() throws Exception {
        TestBroker broker = closeLater(TestBroker.start());
        FakeSink sink = closeLater(FakeSink.acking(broker.url()));
        StallingProxy proxy = closeLater(StallingProxy.silentFor(2, broker.url()));
        append(3);
        Duration connectTimeout = Duration.ofSeconds(1);
        startUplink(proxy.url(), 10, Duration.ofSeconds(30), connectTimeout, Duration.ofMillis(500));
        // two stalled attempts, each given up after the watchdog (2 x 1 s), the backoff, then 10 s to spare
        await().atMost(Duration.ofSeconds(2 * (2 + 1) + 10)).until(() -> backlog() == 0);
        assertEquals(seqs(1, 3), sink.receivedSeqs());
        // two stalled connections, then the one that works; CI saw one more on 6 Dec (not investigated: likely
        // that one's CONNACK missed the 1 s connect timeout under load); a stalled one never given up on would not drain
        assertTrue(proxy.accepted() >= 3, "connections: " + proxy.accepted());
        assertTrue(uplink.isConnected());
    }

    @Test
    void aBrokerSilentForeverIsReportedOnceAndRetriedWithBackoff() throws Exception {
        StallingProxy proxy = closeLater(StallingProxy.silentForever());
        CapturedLog.clear();
        append(2);
        startUplink(proxy.url(), 10, Duration.ofSeconds(30), Duration.ofSeconds(1), Duration.ofMillis(500));
        await().atMost(Duration.ofSeconds(4 * (2 + 1) + 10)).until(() -> proxy.accepted() >= 4);
        assertFalse(uplink.isConnected());
        assertEquals(2, backlog());
        String stalled = "cannot connect to " + proxy.url() + " (no answer to CONNECT within 2 s";
        assertEquals(1, CapturedLog.lines(Level.WARN, stalled).size(), CapturedLog.lines().toString());
        assertTrue(CapturedLog.lines(Level.INFO, stalled).size() >= 2, CapturedLog.lines().toString());
        // each given-up attempt closed its socket: at most the current attempt's is open
        await().atMost(WAIT).until(() -> proxy.silentOpen() <= 1);
    }

    /*
     * A connection that goes dead without closing (a NAT that forgot it, a Wi-Fi that dropped): Paho's keep-alive
     * finds it, and Paho's line for it is in the box's log like every other line, at error, naming the client
     * (PahoLog), where it went to stderr through java.util.logging, in two lines and without a journal priority.
     * Then the link connects again and the stamps appended meanwhile go out.
     */
    @Test
    void aConnectionThatGoesDeadSilentlyIsFoundByPahosKeepAliveAndReportedInTheBoxsLog() throws Exception {
        TestBroker broker = closeLater(TestBroker.start());
        FakeSink sink = closeLater(FakeSink.acking(broker.url()));
        StallingProxy proxy = closeLater(StallingProxy.silentFor(0, broker.url()));
        startUplink(proxy.url(), 10, Duration.ofSeconds(30), Duration.ofSeconds(2), Duration.ofMillis(500),
                Duration.ofSeconds(1));
        await().atMost(WAIT).until(uplink::isConnected);
        CapturedLog.clear();
        proxy.freezeForwarded();
        await().atMost(Duration.ofSeconds(15))
                .until(() -> !CapturedLog.lines(Level.ERROR, DEVICE + ": Timed out as no activity").isEmpty());
        assertTrue(CapturedLog.lines(Level.ERROR, "ClientState.checkForActivity: " + DEVICE).size() >= 1,
                CapturedLog.lines().toString());
        proxy.thaw();
        append(2);
        await().atMost(WAIT).until(() -> backlog() == 0);
        assertEquals(seqs(1, 2), sink.receivedSeqs());
    }

    @Test
    void aRewardAcknowledgedWithinASecondOfTheScanChimes() throws Exception {
        TestBroker broker = closeLater(TestBroker.start());
        closeLater(FakeSink.acking(broker.url())).answerWith(FakeSink::reward);
        startUplink(broker.url(), 10, Duration.ofSeconds(30));
        await().atMost(WAIT).until(uplink::isConnected);
        append(1, System.nanoTime());
        await().atMost(WAIT).until(() -> feedback.signals().equals(List.of(Signal.REWARD_DUE)));
        assertEquals("card=ABCDEFGHJKMNPQRS program=coffee rewards=1", feedback.given().get(0).details());
        await().atMost(WAIT).until(() -> backlog() == 0);
    }

    @Test
    void aRewardForAnOldScanDoesNotChime() throws Exception {
        TestBroker broker = closeLater(TestBroker.start());
        closeLater(FakeSink.acking(broker.url())).answerWith(FakeSink::reward);
        append(1, System.nanoTime() - Duration.ofSeconds(5).toNanos());
        startUplink(broker.url(), 10, Duration.ofSeconds(30));
        await().atMost(WAIT).until(() -> backlog() == 0);
        assertEquals(List.of(), feedback.signals(), "the customer has long gone");
    }

    @Test
    void malformedAcksAreCountedAndIgnored() throws Exception {
        TestBroker broker = closeLater(TestBroker.start());
        FakeSink sink = closeLater(FakeSink.acking(broker.url()));
        startUplink(broker.url(), 10, Duration.ofSeconds(30));
        await().atMost(WAIT).until(uplink::isConnected);
        sink.publishRaw(DEVICE, "not json".getBytes(StandardCharsets.UTF_8));
        sink.publishRaw(DEVICE, "{\"schema\":99}".getBytes(StandardCharsets.UTF_8));
        await().atMost(WAIT).until(() -> uplink.malformedAcks() == 2);
        append(1);
        await().atMost(WAIT).until(() -> backlog() == 0);
        assertTrue(uplink.isConnected());
        assertFalse(sink.received().isEmpty());
    }

    @Test
    void aDiskThatFillsUpAfterTheSendsLosesNothingAndNeedsNoReconnect() throws Exception {
        Path disk = mountTmpfs("size=8m");
        outbox.close(Duration.ofSeconds(5));
        outbox = Outbox.open(disk, Clock.systemUTC(), new OutboxLimits(1000, 1L << 30, 0, 99));
        TestBroker broker = closeLater(TestBroker.start());
        FakeSink sink = closeLater(FakeSink.silent(broker.url()));
        startUplink(broker.url(), 10, Duration.ofSeconds(60));
        await().atMost(WAIT).until(uplink::isConnected);
        append(3);
        await().atMost(WAIT).until(() -> sink.received().size() == 3);

        // the disk fills up behind the outbox's back, then the acks arrive: the deletes are H2's in memory (it
        // writes lazily) while the redo log cannot note the acks, and H2's writer fails on the full disk
        Path filler = fill(disk);
        sink.ackAllReceived(FakeSink::accepted);
        Thread.sleep(3000); // past H2's write delay (1 s): its writer meets the full disk
        Files.delete(filler);

        // space again: whatever H2 or the log lost comes back from the redo log and is sent again at most once,
        // which the sink answers DUPLICATE; the backlog empties on the same connection
        await().atMost(WAIT).ignoreExceptions().until(() -> {
            sink.ackAllReceived(FakeSink::accepted);
            return backlog() == 0 && outbox.status().backlog() == 0;
        });
        assertEquals(seqs(1, 3), sink.receivedSeqs().stream().distinct().sorted().toList());
        assertTrue(sink.received().size() <= 6, "each stamp sent at most twice: " + sink.receivedSeqs());
        assertTrue(uplink.isConnected(), "no reconnect needed");
    }

    /** Mounts a size-limited tmpfs; needs root (as the tests run in CI), and fails loudly otherwise. */
    private Path mountTmpfs(String options) throws IOException, InterruptedException {
        if (!"root".equals(System.getProperty("user.name"))) {
            throw new AssertionError("mounting a size-limited tmpfs needs root; run the integration tests as root"
                    + " (scripts/test does), user is " + System.getProperty("user.name"));
        }
        Path where = Files.createDirectories(dir.resolve("disk"));
        run("mount", "-t", "tmpfs", "-o", options, "tmpfs", where.toString());
        mounted = where;
        return where;
    }

    /** Writes a file until the file system has no space left; returns it. */
    private static Path fill(Path disk) throws IOException {
        Path filler = disk.resolve("filler");
        ByteBuffer block = ByteBuffer.allocate(64 * 1024);
        try (FileChannel out = FileChannel.open(filler, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
            while (true) {
                block.clear();
                out.write(block);
            }
        } catch (IOException e) {
            if (!String.valueOf(e.getMessage()).contains("No space left")) {
                throw e;
            }
        }
        return filler;
    }

    private static void run(String... command) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!p.waitFor(30, TimeUnit.SECONDS) || p.exitValue() != 0) {
            throw new AssertionError(String.join(" ", command) + " failed: " + out);
        }
    }
}
