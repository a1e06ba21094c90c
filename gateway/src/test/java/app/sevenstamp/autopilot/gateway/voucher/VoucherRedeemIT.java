package app.sevenstamp.autopilot.gateway.voucher;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import app.sevenstamp.autopilot.gateway.RecordingFeedback;
import app.sevenstamp.autopilot.gateway.StampFactory;
import app.sevenstamp.autopilot.gateway.StampPipeline;
import app.sevenstamp.autopilot.gateway.config.MqttSettings;
import app.sevenstamp.autopilot.gateway.feedback.Signal;
import app.sevenstamp.autopilot.gateway.outbox.Outbox;
import app.sevenstamp.autopilot.gateway.policy.CounterGuard;
import app.sevenstamp.autopilot.gateway.policy.ScanPolicy;
import app.sevenstamp.autopilot.gateway.scan.Frame;
import app.sevenstamp.autopilot.gateway.support.Ticker;
import app.sevenstamp.autopilot.gateway.uplink.TestBroker;
import app.sevenstamp.autopilot.gateway.uplink.Uplink;
import app.sevenstamp.autopilot.protocol.RedeemAnswer;
import app.sevenstamp.autopilot.protocol.RedeemOutcome;
import app.sevenstamp.autopilot.protocol.RedeemRequest;
import app.sevenstamp.autopilot.protocol.Topics;
import app.sevenstamp.autopilot.protocol.WireCodec;
import app.sevenstamp.autopilot.protocol.support.MqttTls;
import app.sevenstamp.autopilot.protocol.testing.Vectors;
import app.sevenstamp.autopilot.protocol.voucher.VoucherCode;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.concurrent.ThreadLocalRandom;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.tinylog.Logger;

/**
 * Redeeming a voucher at the counter, with the real parts: Moquette in-process, the gateway's real uplink,
 * pipeline and H2 outbox, and a Paho client answering redeem requests as the sink does ({@link RedeemResponder}).
 */
class VoucherRedeemIT {
    private static final String DEVICE = "counter-v";
    private static final String LOCATION = "shop-12";
    private static final Duration WAIT = Duration.ofSeconds(20);
    private static final SecureRandom RANDOM = new SecureRandom();

    @TempDir
    Path dir;

    /** Records System.nanoTime() with each signal, for the scan-to-signal figure. */
    private final RecordingFeedback feedback = new RecordingFeedback(System::nanoTime);
    private final List<AutoCloseable> open = new ArrayList<>();
    private TestBroker broker;
    private RedeemResponder responder;
    private Outbox outbox;
    private Uplink uplink;
    private VoucherDesk desk;
    private StampPipeline pipeline;

    @BeforeEach
    void openOutbox() throws Exception {
        outbox = Outbox.open(dir, Clock.systemUTC());
    }

    @AfterEach
    void closeAll() throws Exception {
        if (pipeline != null) {
            pipeline.close(Duration.ofSeconds(2));
        }
        if (desk != null) {
            desk.close(Duration.ofSeconds(1));
        }
        if (uplink != null) {
            uplink.close(Duration.ofSeconds(5));
        }
        for (int i = open.size() - 1; i >= 0; i--) {
            open.get(i).close();
        }
        outbox.close(Duration.ofSeconds(5));
    }

    private <T extends AutoCloseable> T closeLater(T resource) {
        open.add(resource);
        return resource;
    }

    /** A running broker with the responder on it, and the gateway's parts connected to it. */
    private void startOnline(Duration answerTimeout) throws Exception {
        broker = closeLater(TestBroker.start());
        responder = closeLater(RedeemResponder.connected(broker.url()));
        startGateway(answerTimeout);
        await().atMost(WAIT).until(uplink::isConnected);
    }

    /** As the daemon wires them: the desk subscribes before the uplink starts, the pipeline routes vouchers to it. */
    private void startGateway(Duration answerTimeout) {
        MqttSettings settings = new MqttSettings(broker.url(), Topics.DEFAULT_PREFIX, DEVICE, null, null,
                Duration.ofSeconds(5), Duration.ofSeconds(10), 10, Duration.ofMillis(100), Duration.ofMillis(500), MqttTls.NONE);
        uplink = new Uplink(settings, DEVICE, outbox, feedback, Ticker.SYSTEM, "boot-v", Duration.ofSeconds(30),
                () -> ThreadLocalRandom.current().nextDouble(), Clock.systemUTC(), () -> true);
        desk = new VoucherDesk(uplink.link(), new Topics(Topics.DEFAULT_PREFIX), DEVICE, LOCATION, feedback, Clock.systemUTC(), Ticker.SYSTEM,
                answerTimeout, dir);
        desk.attach();
        StampFactory factory = new StampFactory(DEVICE, LOCATION, Clock.systemUTC(), Ticker.SYSTEM, "boot-v", () -> true);
        ScanPolicy policy = new ScanPolicy(Vectors.verifier(), Set.of("coffee", "bakery-7"));
        pipeline = new StampPipeline(() -> policy, new CounterGuard(), factory, outbox, feedback, uplink::isConnected,
                uplink::wake, 64, Duration.ofSeconds(5), desk::scan, Ticker.SYSTEM);
        uplink.start();
        pipeline.start();
    }

    /** Staff pull the plug: the pipeline, the desk and the uplink stop; the broker, responder and files stay. */
    private void stopGateway() {
        pipeline.close(Duration.ofSeconds(2));
        desk.close(Duration.ofSeconds(1));
        uplink.close(Duration.ofSeconds(5));
        pipeline = null;
        desk = null;
        uplink = null;
    }

    /** The journal's records on disk: what a restart would cancel. */
    private long journalFiles() throws Exception {
        Path journal = dir.resolve(VoucherDesk.JOURNAL_DIR);
        try (var files = java.nio.file.Files.list(journal)) {
            return files.filter(f -> f.getFileName().toString().endsWith(".req")).count();
        }
    }

    private List<RedeemRequest> cancelsReceived(RedeemResponder r) {
        return r.received().stream().filter(q -> q.action() == RedeemRequest.Action.CANCEL).toList();
    }

    private void scan(String text) {
        pipeline.accept(new Frame.Text(text));
    }

    private String issued(String title, String posCode) {
        String code = VoucherCode.random(RANDOM).text();
        responder.issue(code, title, posCode);
        return code;
    }

    /** The same random part with a wrong check character: what a damaged label or a typo gives. */
    private static String damaged(String code) {
        char last = code.charAt(code.length() - 1);
        return code.substring(0, code.length() - 1) + (last == '7' ? '8' : '7');
    }

    private List<RecordingFeedback.Given> voucherSignals() {
        return feedback.given().stream().filter(g -> g.signal() != null).toList();
    }

    private void awaitSignals(Signal... expected) {
        await().atMost(WAIT).until(() -> feedback.signals().equals(List.of(expected)));
    }

    @Test
    void redeemedVoucherGivesVoucherOkWithTitleAndPosCodeAndIsNeverStored() throws Exception {
        startOnline(Duration.ofSeconds(3));
        String code = issued("Free coffee", "POS-0001");
        scan(code);
        awaitSignals(Signal.VOUCHER_OK);
        String details = voucherSignals().get(0).details();
        assertTrue(details.startsWith("voucher=" + code + " title=\"Free coffee\" posCode=POS-0001 ms="), details);

        List<RedeemRequest> requests = responder.received();
        assertEquals(1, requests.size());
        RedeemRequest r = requests.get(0);
        assertEquals(RedeemRequest.Action.REDEEM, r.action());
        assertEquals(DEVICE, r.deviceId());
        assertEquals(LOCATION, r.location());
        assertEquals(code, r.voucherCode());
        assertEquals(WireCodec.SCHEMA, r.schema());
        assertTrue(responder.redeemed(code));
        assertEquals(0L, outbox.count().join(), "a voucher is never a stamp in the outbox");
        assertEquals(0, desk.pendingCount());
        assertEquals(0L, journalFiles(), "an answered request leaves no record");
        assertEquals(0, desk.cancelsWaiting());
        assertEquals(0L, desk.cancelsSent());
    }

    @Test
    void refusedVouchersGiveRejectedWithTheSinksOutcome() throws Exception {
        startOnline(Duration.ofSeconds(3));
        String code = issued("Free coffee", "POS-0002");
        scan(code);
        awaitSignals(Signal.VOUCHER_OK);
        // typed by staff: lower case, no dashes, O for 0 and L for 1 all mean the same voucher
        scan(code.toLowerCase(Locale.ROOT).replace("-", "").replace('0', 'o').replace('1', 'l'));
        awaitSignals(Signal.VOUCHER_OK, Signal.REJECTED);
        assertEquals("reason=ALREADY_REDEEMED voucher=" + code, voucherSignals().get(1).details());

        String unknown = VoucherCode.random(RANDOM).text();
        scan(unknown);
        awaitSignals(Signal.VOUCHER_OK, Signal.REJECTED, Signal.REJECTED);
        assertEquals("reason=UNKNOWN voucher=" + unknown, voucherSignals().get(2).details());
        assertEquals(List.of(code, code, unknown), responder.received().stream().map(RedeemRequest::voucherCode).toList());
        assertEquals(0L, journalFiles(), "a refusal is final: no record, no CANCEL");
        assertEquals(0L, desk.cancelsSent());
    }

    @Test
    void answerLostAndBoxRestartedWhileOfflineCancelsAfterTheReconnect() throws Exception {
        startOnline(Duration.ofSeconds(2));
        String code = issued("Cake", "POS-0010");
        responder.hold(true); // the sink commits the redemption; its answer is lost in the drop below
        scan(code);
        await().atMost(WAIT).until(() -> responder.received().size() == 1);
        String requestId = responder.received().get(0).requestId();
        assertTrue(responder.redeemed(code));
        broker.stop();
        await().atMost(WAIT).until(() -> !uplink.isConnected());
        awaitSignals(Signal.CANNOT_CHECK);
        assertEquals("voucher=" + code + " reason=NO_ANSWER", voucherSignals().get(0).details());

        stopGateway(); // staff power-cycle the box while it is still offline
        assertEquals(1L, journalFiles(), "the CANCEL to send survives the restart");
        startGateway(Duration.ofSeconds(2));
        assertEquals(1, desk.cancelsWaiting(), "a request from before the restart is to be cancelled");
        assertTrue(responder.redeemed(code), "nothing reached the sink while offline");

        broker.startAgain();
        responder.reconnect();
        await().atMost(WAIT).until(() -> !responder.redeemed(code));
        await().atMost(WAIT).until(() -> desk.cancelsWaiting() == 0 && journalFiles() == 0);
        List<RedeemRequest> cancels = cancelsReceived(responder);
        assertFalse(cancels.isEmpty());
        cancels.forEach(c -> assertEquals(requestId, c.requestId(), "the CANCEL names the unanswered request"));
        assertEquals(code, cancels.get(0).voucherCode());
        assertEquals(List.of(Signal.CANNOT_CHECK), feedback.signals(), "the restart gives no signal of its own");

        responder.hold(false); // the customer tries again: the voucher is active
        scan(code);
        awaitSignals(Signal.CANNOT_CHECK, Signal.VOUCHER_OK);
    }

    @Test
    void cancelIsSentAgainUntilTheSinkConfirmsIt() throws Exception {
        startOnline(Duration.ofSeconds(1));
        String code = issued("Cake", "POS-0011");
        responder.hold(true);
        responder.ignoreCancels(1); // the first CANCEL is taken by Paho and the broker, but never reaches the sink
        scan(code);
        awaitSignals(Signal.CANNOT_CHECK);
        await().atMost(WAIT).until(() -> cancelsReceived(responder).size() >= 2);
        await().atMost(WAIT).until(() -> !responder.redeemed(code));
        await().atMost(WAIT).until(() -> desk.cancelsWaiting() == 0 && journalFiles() == 0);
        String requestId = responder.received().get(0).requestId();
        cancelsReceived(responder).forEach(c -> assertEquals(requestId, c.requestId()));
        long sent = desk.cancelsSent();
        assertTrue(sent >= 2, "sent " + sent);
        assertEquals(List.of(Signal.CANNOT_CHECK), feedback.signals());
    }

    @Test
    void closeWithAVoucherWaitingRecordsItAndCancelsItAfterTheNextStart() throws Exception {
        startOnline(Duration.ofSeconds(20));
        String code = issued("Cake", "POS-0012");
        responder.hold(true);
        responder.ignoreCancels(1); // whatever close() gets out is lost: only the journal can save the voucher
        scan(code);
        await().atMost(WAIT).until(() -> responder.received().size() == 1);
        assertEquals(1, desk.pendingCount());
        VoucherDesk closed = desk;
        stopGateway();
        assertEquals(1L, journalFiles(), "the waiting request is recorded as to cancel");
        assertEquals(1, closed.cancelsWaiting());
        assertEquals(1L, closed.cancelsSent(), "connected at close: a CANCEL was attempted");
        assertEquals(List.of(), feedback.signals(), "stopping gives the waiting voucher no signal");

        startGateway(Duration.ofSeconds(20));
        await().atMost(WAIT).until(() -> !responder.redeemed(code));
        await().atMost(WAIT).until(() -> desk.cancelsWaiting() == 0 && journalFiles() == 0);
        assertEquals(List.of(), feedback.signals());
    }

    @Test
    void noAnswerInTimeGivesCannotCheckAndCancelsTheSameRequestAndALateAnswerIsIgnored() throws Exception {
        startOnline(Duration.ofSeconds(1));
        String code = issued("Cake", "POS-0003");
        responder.hold(true); // the sink redeems it but its answer is late
        scan(code);
        awaitSignals(Signal.CANNOT_CHECK);
        assertEquals("voucher=" + code + " reason=NO_ANSWER", voucherSignals().get(0).details());

        await().atMost(WAIT).until(() -> responder.received().size() == 2);
        RedeemRequest redeem = responder.received().get(0);
        RedeemRequest cancel = responder.received().get(1);
        assertEquals(RedeemRequest.Action.REDEEM, redeem.action());
        assertEquals(RedeemRequest.Action.CANCEL, cancel.action());
        assertEquals(redeem.requestId(), cancel.requestId(), "the CANCEL names the unanswered request");
        assertEquals(code, cancel.voucherCode());
        await().atMost(WAIT).until(() -> !responder.redeemed(code));

        responder.releaseHeld(); // the REDEEMED answer arrives after the counter was told CANNOT_CHECK
        await().atMost(WAIT).until(() -> desk.ignoredAnswers() == 1);
        assertEquals(List.of(Signal.CANNOT_CHECK), feedback.signals(), "never a second signal for one scan");

        responder.hold(false); // the customer tries again: the cancel gave the voucher back
        scan(code);
        awaitSignals(Signal.CANNOT_CHECK, Signal.VOUCHER_OK);
    }

    @Test
    void cancelThatCannotBeSentWhileOfflineIsSentAfterTheReconnect() throws Exception {
        startOnline(Duration.ofSeconds(2));
        String code = issued("Cake", "POS-0008");
        responder.hold(true);
        scan(code);
        await().atMost(WAIT).until(() -> responder.received().size() == 1);
        String requestId = responder.received().get(0).requestId();
        broker.stop(); // the network goes before the answer comes
        await().atMost(WAIT).until(() -> !uplink.isConnected());
        awaitSignals(Signal.CANNOT_CHECK);
        assertEquals("voucher=" + code + " reason=NO_ANSWER", voucherSignals().get(0).details());

        broker.startAgain();
        RedeemResponder after = closeLater(RedeemResponder.connected(broker.url()));
        await().atMost(WAIT).until(() -> after.received().stream().anyMatch(r -> r.action() == RedeemRequest.Action.CANCEL));
        RedeemRequest cancel = after.received().stream().filter(r -> r.action() == RedeemRequest.Action.CANCEL)
                .findFirst().orElseThrow();
        assertEquals(requestId, cancel.requestId(), "the CANCEL sent after the reconnect names the unanswered request");
        assertEquals(code, cancel.voucherCode());
        assertEquals(List.of(Signal.CANNOT_CHECK), feedback.signals());
    }

    @Test
    void offlineBoxGivesCannotCheckAndPublishesNothing() throws Exception {
        broker = closeLater(TestBroker.notStarted());
        startGateway(Duration.ofSeconds(3));
        String code = VoucherCode.random(RANDOM).text();
        scan(code);
        awaitSignals(Signal.CANNOT_CHECK);
        assertEquals("voucher=" + code + " reason=OFFLINE", voucherSignals().get(0).details());

        broker.startAgain();
        responder = closeLater(RedeemResponder.connected(broker.url()));
        await().atMost(WAIT).until(uplink::isConnected);
        String later = issued("Free coffee", "POS-0004");
        scan(later);
        awaitSignals(Signal.CANNOT_CHECK, Signal.VOUCHER_OK);
        assertEquals(List.of(later), responder.received().stream().map(RedeemRequest::voucherCode).toList(),
                "the voucher scanned offline was never sent, not even after the reconnect");
        assertFalse(responder.redeemed(code));
        assertEquals(0L, outbox.count().join());
    }

    @Test
    void damagedVoucherIsRejectedAtOnceWithoutAskingTheSink() throws Exception {
        startOnline(Duration.ofSeconds(3));
        String code = issued("Free coffee", "POS-0005");
        scan(damaged(code));
        scan(code);
        awaitSignals(Signal.REJECTED, Signal.VOUCHER_OK);
        assertEquals("reason=MALFORMED kind=voucher", voucherSignals().get(0).details());
        assertEquals(List.of(code), responder.received().stream().map(RedeemRequest::voucherCode).toList());
        assertEquals(0L, outbox.count().join(), "not a stamp either");
    }

    @Test
    void stampScannedWhileAVoucherWaitsIsSignalledWithoutWaitingForIt() throws Exception {
        startOnline(Duration.ofSeconds(20));
        String code = issued("Free coffee", "POS-0006");
        responder.hold(true);
        scan(code);
        await().atMost(WAIT).until(() -> responder.received().size() == 1);
        scan(Vectors.cardText("valid"));
        awaitSignals(Signal.ACCEPTED);
        assertEquals(1, desk.pendingCount(), "the voucher is still waiting for its answer");

        responder.releaseHeld();
        awaitSignals(Signal.ACCEPTED, Signal.VOUCHER_OK);
    }

    @Test
    void moreVouchersWaitingThanTheBoundGetCannotCheckWithoutBeingSent() throws Exception {
        startOnline(Duration.ofSeconds(20));
        responder.hold(true);
        List<String> codes = new ArrayList<>();
        for (int i = 0; i <= VoucherDesk.MAX_PENDING; i++) {
            codes.add(issued("Voucher " + i, "POS-1" + i));
        }
        codes.forEach(this::scan);
        await().atMost(WAIT).until(() -> feedback.signals().equals(List.of(Signal.CANNOT_CHECK)));
        assertEquals("voucher=" + codes.get(VoucherDesk.MAX_PENDING) + " reason=BUSY", voucherSignals().get(0).details());
        await().atMost(WAIT).until(() -> responder.received().size() == VoucherDesk.MAX_PENDING);
        responder.releaseHeld();
        await().atMost(WAIT).until(() -> feedback.signals().size() == 1 + VoucherDesk.MAX_PENDING);
        assertEquals(VoucherDesk.MAX_PENDING, feedback.signals().stream().filter(s -> s == Signal.VOUCHER_OK).count());
        assertEquals(0, desk.pendingCount());
    }

    @Test
    void malformedAnswersAreCountedAndIgnored() throws Exception {
        startOnline(Duration.ofSeconds(3));
        WireCodec codec = new WireCodec();
        responder.publishRaw(DEVICE, "not json".getBytes(StandardCharsets.UTF_8));
        responder.publishRaw(DEVICE, "{\"schema\":99,\"requestId\":\"x\"}".getBytes(StandardCharsets.UTF_8));
        responder.publishRaw(DEVICE, codec.encode(new RedeemAnswer(WireCodec.SCHEMA, "0190a0b0-0000-7000-8000-000000000000",
                "another-box", RedeemOutcome.REDEEMED, VoucherCode.random(RANDOM).text(), null, null, null)));
        await().atMost(WAIT).until(() -> desk.malformedAnswers() == 3);
        // an answer to a request this box never made: ignored as well
        responder.publishRaw(DEVICE, codec.encode(new RedeemAnswer(WireCodec.SCHEMA, "0190a0b0-0000-7000-8000-000000000001",
                DEVICE, RedeemOutcome.REDEEMED, VoucherCode.random(RANDOM).text(), "Free cake", "POS-X", null)));
        await().atMost(WAIT).until(() -> desk.ignoredAnswers() == 1);
        assertEquals(List.of(), feedback.signals(), "no signal from an answer nobody waited for");

        String code = issued("Free coffee", "POS-0007");
        scan(code);
        awaitSignals(Signal.VOUCHER_OK);
        assertTrue(uplink.isConnected(), "bad answers do not cost the connection");
    }

    /** Not a timing assertion: prints what a redeemed voucher costs from scan to signal through the broker. */
    @Test
    void scanToSignalTimeOfRedeemedVouchersIsReported() throws Exception {
        startOnline(Duration.ofSeconds(3));
        List<Long> ms = new ArrayList<>();
        for (int i = 0; i < 30; i++) {
            String code = issued("Free coffee", "POS-2" + i);
            long start = System.nanoTime();
            scan(code);
            int n = i + 1;
            await().atMost(WAIT).until(() -> feedback.signals().size() == n);
            ms.add(((Long) feedback.given().get(i).probed() - start) / 100_000); // tenths of a millisecond
        }
        assertEquals(30, feedback.signals().stream().filter(s -> s == Signal.VOUCHER_OK).count());
        List<Long> sorted = ms.stream().sorted().toList();
        Logger.info("voucher scan-to-signal via Moquette over {} scans: median {} ms, max {} ms (first {} ms); "
                + "journal write or delete with fsync: mean {} us", sorted.size(), sorted.get(sorted.size() / 2) / 10.0,
                sorted.get(sorted.size() - 1) / 10.0, ms.get(0) / 10.0, desk.journalMeanMicros());
        assertEquals(0L, journalFiles());
    }
}
