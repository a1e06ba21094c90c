package app.sevenstamp.autopilot.gateway.e2e;

import app.sevenstamp.autopilot.gateway.testing.GatewayProps;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import app.sevenstamp.autopilot.protocol.testing.MosquittoProcess;
import app.sevenstamp.autopilot.sink.SinkServer;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.tinylog.Logger;

/**
 * The gateway's resident memory (VmRSS) with the JVM options the .deb's unit ships, for the 512 MB of a
 * Pi Zero 2 W (docs/hardware.md has the figures): idle after the start, through a burst of scans, and at
 * the peak of a drain (a backlog stored while the broker was down, sent when it is back). The jar runs on
 * this machine's JVM and on trixie's aarch64 OpenJDK 21 under qemu-user (there the figure is qemu's
 * process: the emulated JVM plus qemu's own translation cache and heap, so well above what a Pi shows).
 *
 * <p>What must hold: every confirmed scan reaches the sink, and the peak VmRSS stays below the unit's
 * MemoryHigh= on amd64 (under qemu, below the board's 512 MB). The cgroup itself, MemoryMax= enforced
 * on the unit, is UnderMemoryLimitIT's part.
 */
class MemoryFootprintIT {
    private static final Duration WAIT = Duration.ofMinutes(3);
    private static final String DEVICE = "zero2w-counter";
    /** Scans written and not yet answered; below the pipeline's queue (64), so no scan is dropped. */
    private static final int OUTSTANDING = 24;
    /** The RAM of a Raspberry Pi Zero 2 W. */
    private static final long ZERO_2_W = 512L << 20;

    /** Where the jar runs, and how many scans each phase has (qemu is 10 to 20 times slower). */
    enum Where {
        AMD64(1000, 2000),
        ARM64_TRIXIE_21(100, 200);

        final int burst;
        final int backlog;

        Where(int burst, int backlog) {
            this.burst = burst;
            this.backlog = backlog;
        }
    }

    @TempDir
    Path dir;
    private List<String> cards;

    @ParameterizedTest
    @EnumSource(Where.class)
    void theGatewayStaysBelowTheUnitsMemoryLinesThroughABurstAndADrain(Where where) throws Exception {
        Path sinkProperties = FaultSinkFiles.write(dir, null, 10);
        cards = SinkCli.issue(sinkProperties, "coffee", 50);
        String trustedKey = SinkCli.trustedKey(sinkProperties);
        try (MosquittoProcess broker = MosquittoProcess.start(dir.resolve("mosquitto"));
             SinkServer sink = SinkServer.start(FaultSinkFiles.config(dir, broker.url(), 10))) {
            Path config = gatewayConfig(broker.url(), trustedKey);
            Path tmp = Files.createDirectories(dir.resolve("tmp"));
            List<String> command = new ArrayList<>();
            if (where == Where.AMD64) {
                command.add(ProcessHandle.current().info().command().orElse("java"));
                command.addAll(UnitJvmFlags.options());
                command.addAll(List.of("-Djava.io.tmpdir=" + tmp, "-jar", GatewayProcess.JAR.toString(), "--config", config.toString()));
            } else {
                command.addAll(Arm64SmokeIT.command(Arm64Java.TRIXIE_21.prefix(), tmp, config));
            }
            try (GatewayProcess gateway = GatewayProcess.start(config, dir.resolve("gateway.log"), command,
                    UnitJvmFlags.environment())) {
                RssSampler rss = new RssSampler(gateway.pid());
                gateway.awaitLog("gateway ready", WAIT);
                gateway.awaitLog("uplink ready", WAIT);
                rss.sampleFor(Duration.ofSeconds(5));
                long idle = rss.current();
                long startPeak = rss.peakAndReset();

                int next = scan(gateway, 0, where.burst);
                long burstPeak = rss.peakAndReset();

                broker.stop(true);
                gateway.awaitLog("lost the connection", WAIT);
                next = scan(gateway, next, where.backlog);
                long offline = gateway.seen().stream().filter(l -> l.startsWith("ACCEPTED_OFFLINE")).count();
                assertTrue(offline >= where.backlog / 2, "scans while the broker was down stored offline: " + offline);
                long backlogPeak = rss.peakAndReset();

                broker.start();
                Map<String, Integer> confirmed = new TreeMap<>();
                ConfirmedStamps.tally(gateway.seen(), confirmed);
                assertEquals(where.burst + where.backlog, ConfirmedStamps.total(confirmed));
                Thread sampler = rss.inBackground();
                try {
                    new ConfirmedStamps(sink, DEVICE, WAIT).awaitMatches(confirmed, 0);
                } finally {
                    sampler.interrupt();
                    sampler.join();
                }
                long drainPeak = rss.peakAndReset();
                long hwm = rss.highWaterMark();
                Logger.info("{}: VmRSS idle {} MB (start peak {}), burst of {} peak {} MB, {} stored offline peak {} MB, "
                                + "drain peak {} MB; VmHWM {} MB; options {} {}", where, mb(idle), mb(startPeak), where.burst, mb(burstPeak),
                        where.backlog, mb(backlogPeak), mb(drainPeak), mb(hwm), UnitJvmFlags.environment(), UnitJvmFlags.options());
                if (where == Where.AMD64) {
                    Logger.info("what the JVM holds after the drain (jcmd; the sources of the unit's limits): threads {}\n{}",
                            status(gateway.pid(), "Threads:"), jcmd(gateway.pid(), "GC.heap_info") + jcmd(gateway.pid(), "VM.metaspace", "basic")
                                    + jcmd(gateway.pid(), "Compiler.codecache"));
                }
                // under qemu the process is qemu's: its translation cache (not settable for user mode in qemu 7.2) and its
                // own heap come on top, so there the check is only that the whole still fits the board
                long limit = where == Where.AMD64 ? UnitJvmFlags.memory("MemoryHigh") : ZERO_2_W;
                assertTrue(hwm < limit, where + ": the gateway's peak VmRSS " + mb(hwm) + " MB is not below " + mb(limit) + " MB");
                gateway.terminate(Duration.ofSeconds(60));
            }
        }
    }

    /** What jcmd (of this machine's JDK, the one the AMD64 gateway runs on) prints for the gateway's JVM. */
    private static String jcmd(long pid, String... command) throws IOException, InterruptedException {
        Path jcmd = Path.of(System.getProperty("java.home"), "bin", "jcmd");
        List<String> line = new ArrayList<>(List.of(jcmd.toString(), Long.toString(pid)));
        line.addAll(List.of(command));
        Process p = new ProcessBuilder(line).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        p.waitFor();
        return out;
    }

    private static String status(long pid, String field) throws IOException {
        return Files.readAllLines(Path.of("/proc", Long.toString(pid), "status")).stream().filter(l -> l.startsWith(field))
                .map(l -> l.substring(field.length()).trim()).findFirst().orElse("?");
    }

    private static long mb(long bytes) {
        return Math.round(bytes / 1048576.0);
    }

    private int scan(GatewayProcess gateway, int from, int count) throws IOException {
        OutputStream in = gateway.stdin();
        int written = 0;
        int answered = 0;
        while (written < count) {
            in.write((cards.get((from + written) % cards.size()) + "\n").getBytes(StandardCharsets.US_ASCII));
            written++;
            if (written - answered >= OUTSTANDING || written == count) {
                in.flush();
            }
            while (written - answered >= OUTSTANDING || (written == count && answered < written)) {
                String line = gateway.awaitLine(l -> l.startsWith("ACCEPTED") || l.startsWith("REJECTED")
                        || l.startsWith("STORAGE_FAULT"), WAIT, "feedback for scan " + (from + answered + 1));
                assertTrue(line.startsWith("ACCEPTED"), line);
                answered++;
            }
        }
        return from + written;
    }

    private Path gatewayConfig(String brokerUrl, String trustedKey) throws IOException {
        return GatewayProps.counter(DEVICE, trustedKey, dir.resolve("outbox"), brokerUrl)
                .set("device.location", "test-shop", "mqtt.keepAlive", "30s", "mqtt.reconnect.max", "1s")
                .write(dir.resolve("gateway.properties"));
    }

    /**
     * VmRSS of one process from /proc, sampled on the test thread between scans and by a named thread during
     * the drain; VmHWM is the kernel's own peak, which catches what falls between samples.
     */
    private static final class RssSampler {
        private final Path status;
        private final AtomicLong peak = new AtomicLong();

        RssSampler(long pid) {
            this.status = Path.of("/proc", Long.toString(pid), "status");
        }

        long current() {
            long kb = field("VmRSS:");
            peak.accumulateAndGet(kb * 1024, Math::max);
            return kb * 1024;
        }

        long highWaterMark() {
            return field("VmHWM:") * 1024;
        }

        long peakAndReset() {
            current();
            return peak.getAndSet(0);
        }

        void sampleFor(Duration d) throws InterruptedException {
            long end = System.nanoTime() + d.toNanos();
            while (System.nanoTime() < end) {
                current();
                Thread.sleep(100);
            }
        }

        Thread inBackground() {
            Thread t = new Thread(() -> {
                try {
                    while (!Thread.currentThread().isInterrupted()) {
                        current();
                        Thread.sleep(100);
                    }
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                } catch (RuntimeException e) {
                    Logger.warn("VmRSS sampling stopped: {}", e.toString());
                }
            }, "rss-sampler");
            t.setDaemon(true);
            t.start();
            return t;
        }

        private long field(String name) {
            try {
                return Files.readAllLines(status).stream().filter(l -> l.startsWith(name)).findFirst()
                        .map(l -> Long.parseLong(l.substring(name.length()).trim().split("\\s+")[0]))
                        .orElseThrow(() -> new AssertionError(name + " not in " + status));
            } catch (IOException e) {
                throw new AssertionError(status + " not readable (the gateway ended?): " + e);
            }
        }
    }
}
