package app.sevenstamp.autopilot.gateway.e2e;

import app.sevenstamp.autopilot.gateway.testing.GatewayProps;
import static org.awaitility.Awaitility.await;

import app.sevenstamp.autopilot.protocol.testing.MosquittoProcess;
import app.sevenstamp.autopilot.protocol.testing.SmallDisk;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;
import org.awaitility.core.ConditionTimeoutException;

/**
 * The real parts a fault schedule runs against, each in its own process on files under one folder:
 * Mosquitto, the sink jar on its default H2 store, the gateway jar reading scans on stdin with its
 * outbox on disk (or on a small tmpfs, for schedules that fill it). Every method is one thing done to
 * them, as an operator, a power cut or the network would do it. It remembers what the gateway printed
 * in every run, for the checker.
 *
 * <p>Threading: the test thread only. The parts' own threads (stdout readers) are in their classes.
 */
final class FaultRig implements AutoCloseable {
    static final String DEVICE = "soak-counter";
    private static final int CARDS = 50;
    private static final int STAMPS_REQUIRED = 10;
    /** Scans written and not yet answered: below the pipeline's queue (64), so that no scan is dropped. */
    private static final int OUTSTANDING = 24;
    private static final Duration START = Duration.ofSeconds(60);
    /** Above the pipeline's store timeout (10 s), after which a scan is answered STORAGE_FAULT anyway. */
    private static final Duration ANSWER = Duration.ofSeconds(30);
    private static final Duration CATCH_UP = Duration.ofSeconds(30);

    private final Path dir;
    private final Consumer<String> say;
    private final MosquittoProcess broker;
    private final SmallDisk disk;
    private final Path sinkConfig;
    private final Path gatewayConfig;
    private final JumpingClock sinkClock;
    private final JumpingClock gatewayClock;
    /** The card codes to scan, and their card ids ({@code 7S1.<key>.<program>.<card id>.<signature>}). */
    private final List<String> cards;
    private final List<String> cardIds;
    private final SinkApi api = new SinkApi(DEVICE);
    private final List<List<String>> endedRuns = new ArrayList<>();
    private SinkProcess sink;
    private GatewayProcess gateway;
    private boolean brokerUp = true;
    private int gatewayRuns;
    private int sinkRuns;
    private int nextCard;
    private int gatewayKills;

    private FaultRig(Path dir, Consumer<String> say, MosquittoProcess broker, SmallDisk disk, Path sinkConfig,
            Path gatewayConfig, List<String> cards) {
        this.dir = dir;
        this.say = say;
        this.broker = broker;
        this.disk = disk;
        this.sinkConfig = sinkConfig;
        this.gatewayConfig = gatewayConfig;
        this.cards = cards;
        this.cardIds = cards.stream().map(code -> code.split("\\.")[3]).toList();
        this.sinkClock = new JumpingClock(dir.resolve("sink.faketime"));
        this.gatewayClock = new JumpingClock(dir.resolve("gateway.faketime"));
    }

    /** Starts every part; with {@code smallDisk} the outbox lives on a 256 MB tmpfs that a step can fill. */
    static FaultRig start(Path dir, boolean smallDisk, Consumer<String> say) throws Exception {
        MosquittoProcess broker = MosquittoProcess.start(dir.resolve("mosquitto"));
        SmallDisk disk = null;
        FaultRig rig = null;
        try {
            disk = smallDisk ? SmallDisk.mount(dir.resolve("small-disk"), "256m") : null;
            Path sinkConfig = FaultSinkFiles.write(dir, broker.url(), STAMPS_REQUIRED);
            List<String> cards = SinkCli.issue(sinkConfig, "coffee", CARDS);
            Path outbox = (disk == null ? dir : disk.path()).resolve("outbox");
            Path gatewayConfig = writeGatewayConfig(dir, broker.url(), SinkCli.trustedKey(sinkConfig), outbox);
            rig = new FaultRig(dir, say, broker, disk, sinkConfig, gatewayConfig, cards);
            rig.startSink();
            rig.startGateway();
            return rig;
        } catch (Exception | Error e) {
            // stops what was started; e stays the failure, one in stopping is added to it as suppressed
            try (AutoCloseable undo = rig != null ? rig : stopping(broker, disk)) {
                throw e;
            }
        }
    }

    /** Runs one step of a schedule. */
    void run(FaultSchedule.Step step) throws Exception {
        switch (step.kind()) {
            case IDLE -> idle(step.time());
            case BURST -> burst(step.scans(), -1);
            case KILL_GATEWAY -> killGateway(step.caughtUp());
            case KILL_GATEWAY_IN_BURST -> {
                burst(step.scans(), step.at());
                killGateway(false);
            }
            case KILL_SINK -> {
                killSink(step.caughtUp());
                startSink();
            }
            case RESTART_SINK -> {
                sink.terminate(Duration.ofSeconds(10));
                startSink();
            }
            case SINK_DOWN -> killSink(false);
            case SINK_UP -> startSink();
            case KILL_BROKER -> {
                broker.stop(true);
                broker.start();
            }
            case BROKER_DOWN -> {
                broker.stop(false);
                brokerUp = false;
            }
            case BROKER_UP -> {
                broker.start();
                brokerUp = true;
            }
            case CLOCK_JUMP_GATEWAY -> gatewayClock.jump(step.time());
            case CLOCK_JUMP_SINK -> sinkClock.jump(step.time());
            case FILL_DISK -> say.accept("  ballast of " + disk.fill() / 1024 + " KB, the disk is full");
            case FREE_DISK -> disk.free();
        }
    }

    /** Every confirmation the gateway printed, over all its runs. */
    List<StampAudit.Confirmation> confirmations() {
        List<StampAudit.Confirmation> out = new ArrayList<>();
        for (int i = 0; i < endedRuns.size(); i++) {
            out.addAll(StampAudit.parse(i + 1, endedRuns.get(i)));
        }
        out.addAll(StampAudit.parse(gatewayRuns, gateway.seen()));
        return out;
    }

    /** How often the gateway was killed: each kill may leave one stamp stored without its green light. */
    int gatewayKills() {
        return gatewayKills;
    }

    /** The sink's view now, through its HTTP API. */
    StampAudit.SinkView sinkView() throws IOException, InterruptedException {
        return api.read(sink.http(), cardIds);
    }

    Path dir() {
        return dir;
    }

    /**
     * Where to look when a schedule fails: the ERROR, WARN and ALARM lines of every log, the last {@code max};
     * a run of lines that differ only in numbers and card ids (a full disk refuses every scan) is one line.
     */
    String logExcerpt(int max) {
        List<String> out = new ArrayList<>();
        try (var files = Files.list(dir)) {
            for (Path log : files.filter(f -> f.getFileName().toString().endsWith(".log")).sorted().toList()) {
                String previous = null;
                int repeats = 0;
                for (String line : Files.readAllLines(log, StandardCharsets.UTF_8)) {
                    if (!line.contains("ERROR") && !line.contains("WARN") && !line.contains("ALARM")) {
                        continue;
                    }
                    String shape = line.replaceAll("card=\\S+", "card=").replaceAll("[0-9]+", "#");
                    if (shape.equals(previous)) {
                        repeats++;
                        continue;
                    }
                    if (repeats > 0) {
                        out.add(log.getFileName() + ": (" + repeats + " more like it)");
                    }
                    previous = shape;
                    repeats = 0;
                    out.add(log.getFileName() + ": " + line);
                }
                if (repeats > 0) {
                    out.add(log.getFileName() + ": (" + repeats + " more like it)");
                }
            }
        } catch (IOException e) {
            out.add("(logs not readable: " + e.getMessage() + ")");
        }
        return String.join("\n", out.size() <= max ? out : out.subList(out.size() - max, out.size()));
    }

    /**
     * The fault is time passing while nothing happens: there is no condition to wait for. The parts must
     * still be alive at the end of it.
     */
    private void idle(Duration time) throws InterruptedException {
        Thread.sleep(time.toMillis());
        if (!gateway.isAlive()) {
            throw new AssertionError("the gateway died while idle:\n" + gateway.log());
        }
        if (sink != null && !sink.isAlive()) {
            throw new AssertionError("the sink died while idle:\n" + sink.log());
        }
    }

    /**
     * Scans {@code count} cards round robin, keeping at most {@link #OUTSTANDING} unanswered; with
     * {@code stopAfter} >= 0 it returns once that many are answered, leaving the rest queued in the gateway.
     */
    private void burst(int count, int stopAfter) throws IOException {
        OutputStream in = gateway.stdin();
        int written = 0;
        int answered = 0;
        int accepted = 0;
        int offline = 0;
        int faults = 0;
        int other = 0;
        while (true) {
            while (written < count && written - answered < OUTSTANDING) {
                in.write((cards.get(nextCard++ % cards.size()) + "\n").getBytes(StandardCharsets.US_ASCII));
                written++;
            }
            in.flush();
            if (answered == count || answered == stopAfter) {
                break;
            }
            String line = gateway.awaitLine(FaultRig::isAnswer, ANSWER, "the answer to scan " + (answered + 1) + " of " + count);
            answered++;
            if (line.startsWith("ACCEPTED_OFFLINE")) {
                offline++;
            } else if (line.startsWith("ACCEPTED")) {
                accepted++;
            } else if (line.startsWith("STORAGE_FAULT")) {
                faults++;
            } else {
                other++;
                say.accept("  unexpected answer: " + line);
            }
        }
        say.accept("  " + answered + " answered: " + accepted + " ACCEPTED, " + offline + " ACCEPTED_OFFLINE, " + faults
                + " STORAGE_FAULT, " + other + " other" + (written > answered ? "; " + (written - answered)
                + " scan(s) still queued" : ""));
    }

    /** An answer to a scan; the salvage alarm at start (STORAGE_FAULT reason=OUTBOX_CORRUPT) answers none. */
    private static boolean isAnswer(String line) {
        return line.startsWith("ACCEPTED") || line.startsWith("REJECTED") || line.startsWith("TOO_SOON")
                || line.startsWith("CANNOT_CHECK")
                || line.startsWith("STORAGE_FAULT") && !line.contains("reason=OUTBOX_CORRUPT");
    }

    private void killGateway(boolean caughtUp) throws InterruptedException {
        if (caughtUp) {
            awaitSinkCaughtUp();
        }
        gateway.kill();
        gateway.awaitStdoutClosed(Duration.ofSeconds(10));
        endedRuns.add(gateway.seen());
        gatewayKills++;
        startGateway();
    }

    private void killSink(boolean caughtUp) throws InterruptedException {
        if (caughtUp) {
            awaitSinkCaughtUp();
        }
        sink.kill();
        sink = null;
    }

    /** Until the sink has the last stamp confirmed (its number or a later one); gives up quietly after a while. */
    private void awaitSinkCaughtUp() {
        List<StampAudit.Confirmation> confirmed = confirmations();
        if (confirmed.isEmpty() || sink == null || !brokerUp) {
            say.accept("  (nothing to catch up with: " + (confirmed.isEmpty() ? "no stamp yet" : "a part is down") + ")");
            return;
        }
        long target = confirmed.get(confirmed.size() - 1).seq();
        try {
            await().atMost(CATCH_UP).pollInterval(Duration.ofMillis(100)).ignoreExceptions()
                    .until(() -> api.lastSeq(sink.http()) >= target);
            say.accept("  the sink has seq " + target);
        } catch (ConditionTimeoutException e) {
            say.accept("  the sink did not reach seq " + target + " within " + CATCH_UP.toSeconds() + " s; killing anyway");
        }
    }

    private void startSink() {
        sinkRuns++;
        sink = SinkProcess.start(sinkConfig, dir.resolve("sink-" + sinkRuns + ".out"),
                dir.resolve("sink-" + sinkRuns + ".log"), sinkClock.environment(), brokerUp, START);
    }

    private void startGateway() {
        gatewayRuns++;
        gateway = GatewayProcess.start(gatewayConfig, dir.resolve("gateway-" + gatewayRuns + ".log"),
                gatewayClock.environment());
        gateway.awaitLog("gateway ready", START);
    }

    private static Path writeGatewayConfig(Path dir, String brokerUrl, String trustedKey, Path outbox) throws IOException {
        return GatewayProps.counter(DEVICE, trustedKey, outbox, brokerUrl).set("device.location", "soak-shop")
                .set("mqtt.keepAlive", "30s") // the default, written out: the schedule idles on both sides of it
                .set("mqtt.inflight", "50", "mqtt.reconnect.max", "2s").write(dir.resolve("gateway.properties"));
    }

    /** Stops the parts in reverse order of their start; the folder stays for a failed schedule's logs. */
    @Override
    public void close() throws Exception {
        try (AutoCloseable parts = stopping(broker, disk); SinkProcess s = sink; GatewayProcess g = gateway) {
            // closed in reverse: gateway, sink, broker, then the tmpfs is unmounted
        }
    }

    private static AutoCloseable stopping(MosquittoProcess broker, SmallDisk disk) {
        return () -> {
            try (SmallDisk d = disk; MosquittoProcess b = broker) {
                // the broker stops before the disk is unmounted
            }
        };
    }
}
