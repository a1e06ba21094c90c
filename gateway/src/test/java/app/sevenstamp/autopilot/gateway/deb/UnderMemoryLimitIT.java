package app.sevenstamp.autopilot.gateway.deb;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import app.sevenstamp.autopilot.protocol.testing.MosquittoProcess;
import app.sevenstamp.autopilot.sink.SinkServer;
import app.sevenstamp.autopilot.protocol.card.CardSigner;
import app.sevenstamp.autopilot.sink.cards.SigningKey;
import app.sevenstamp.autopilot.sink.testing.TestSink;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.tinylog.Logger;

/**
 * The installed gateway under its unit's memory limit (MemoryMax=, issue 17 item 5: the Pi Zero 2 W has
 * 512 MB): in the systemd container, a burst of serial scans while online, then a burst while the broker
 * is down (stored in the outbox), then the drain when the broker is back. The box keeps working: every scan
 * counted once at the sink, the same process throughout (no OOM kill, no restart), and the cgroup's peak
 * is logged beside its limit (docs/hardware.md has the figures).
 *
 * <p>Where the container's systemd has a memory controller (a cgroup v2 host, as Raspberry Pi OS) it
 * enforces MemoryMax= itself, and the test reads memory.peak and memory.max of the unit's cgroup. On a
 * cgroup v1 host (this sandbox: nspawn mounts the memory hierarchy read-only in the container, so systemd
 * there cannot apply the limit) the test does what systemd would: a memory cgroup with the unit's
 * MemoryMax= as memory.limit_in_bytes, which the JVM is born into (the container's PID 1 is moved into it
 * for the start and back out), and it reads memory.max_usage_in_bytes, memory.failcnt and oom_kill there.
 */
class UnderMemoryLimitIT {
    private static final String UNIT = "7stamp-gateway.service";
    private static final Duration WAIT = Duration.ofSeconds(120);
    private static final int BURST = 400;
    private static final int CARDS = 50;
    /** Scans written at once, then a pause: below the pipeline's queue (64), so no scan is dropped. */
    private static final int CHUNK = 16;
    private static final Path MEMORY_V1 = Path.of("/sys/fs/cgroup/memory");

    @TempDir
    Path dir;
    /** The v1 memory cgroup made for the gateway on a cgroup v1 host; removed once the container is gone. */
    private Path hostCgroup;

    // trixie only in CI: its Java 21 has the larger footprint (cgroup peak 76 MB against bookworm's 72 MB when both
    // ran, docs/hardware.md), and bookworm's container is UnderSystemdIT's; about 70 s a release
    @ParameterizedTest
    @EnumSource(value = DebianRelease.class, names = "TRIXIE")
    void theGatewayKeepsWorkingUnderTheUnitsMemoryLimitThroughABurstAndADrain(DebianRelease release) throws Exception {
        assertEquals("0", SystemdContainer.run(List.of("id", "-u")).trim(),
                "the systemd test needs root (systemd-nspawn, cgroups); run scripts/test as root");
        Path deb = DebPackageIT.theDeb();
        try (MosquittoProcess broker = MosquittoProcess.start(dir.resolve("mosquitto"));
             SinkServer sink = sinkConfig(broker.url()).start();
             SystemdContainer box = SystemdContainer.boot(dir.resolve("box"), release)) {
            try {
                exercise(broker, sink, box, deb, release);
            } catch (AssertionError | RuntimeException e) {
                throw new AssertionError(e.getMessage() + "\n--- journal of " + UNIT + ":\n"
                        + box.run("journalctl", "--no-pager", "-u", UNIT).output(), e);
            }
        } finally {
            // after the container's power-off: a JVM left running by a failure has ended with it
            if (hostCgroup != null) {
                removeWhenEmpty(hostCgroup);
            }
        }
    }

    private void exercise(MosquittoProcess broker, SinkServer sink, SystemdContainer box, Path deb, DebianRelease release)
            throws Exception {
        Files.copy(deb, box.root().resolve("root/gateway.deb"));
        box.exec("dpkg", "-i", "/root/gateway.deb"); // starts and fails on the shipped config (78): no key yet
        long memoryMax = Long.parseLong(box.property(UNIT, "MemoryMax"));
        long memoryHigh = Long.parseLong(box.property(UNIT, "MemoryHigh"));
        assertTrue(memoryHigh < memoryMax, "MemoryHigh " + memoryHigh + " below MemoryMax " + memoryMax);

        SigningKey key = SigningKey.loadOrCreate(dir.resolve("sink").resolve("signing.key"), "k1");
        CardSigner signer = key.signer();
        List<String> cards = new ArrayList<>();
        for (int i = 0; i < CARDS; i++) {
            cards.add(signer.sign("coffee", "MEMORYLIMITCARD" + (char) ('A' + i / 26) + (char) ('A' + i % 26)));
        }
        Process perl = box.start("perl", "-e", PTY);
        Path cgroup = null;
        boolean initMoved = false;
        String cgroupNote;
        try {
            BufferedReader fromPty = new BufferedReader(new InputStreamReader(perl.getInputStream(), StandardCharsets.UTF_8));
            String slave = fromPty.readLine();
            assertTrue(slave != null && slave.startsWith("/dev/pts/"), "the pty helper printed " + slave);
            box.exec("chown", "autopilot:dialout", slave);
            Map<String, String> keys = new LinkedHashMap<>();
            keys.put("device.id", "zero2w-" + release.suite());
            keys.put("device.location", "memory-shop");
            keys.put("cards.trustedKeys", key.trustedKeyLine());
            keys.put("cards.programs", "coffee");
            keys.put("mqtt.url", broker.url());
            keys.put("mqtt.reconnect.min", "100ms");
            keys.put("mqtt.reconnect.max", "1s");
            keys.put("scanner.type", "serial");
            keys.put("scanner.port", slave);
            keys.put("scanner.debounce", "0ms");
            UnderSystemdIT.setKeys(box.root().resolve("etc/7stamp-autopilot/gateway.properties"), keys);
            box.exec("systemctl", "reset-failed", UNIT);

            String unitCgroup = box.property(UNIT, "ControlGroup");
            boolean systemdEnforces = box.run("test", "-d", "/sys/fs/cgroup/system.slice").status() == 0
                    && box.run("test", "-f", "/sys/fs/cgroup/memory.stat").status() == 0;
            if (!systemdEnforces) {
                cgroup = hostMemoryCgroup(box, memoryMax);
                hostCgroup = cgroup;
                initMoved = true;
            }
            box.exec("systemctl", "start", UNIT); // Type=notify: returns once READY=1 arrived
            if (initMoved) {
                moveBack(box);
                initMoved = false;
            }
            String pid = box.property(UNIT, "MainPID");
            await("the device connected").atMost(WAIT).until(() -> box.exec("journalctl", "--no-pager", "-u", UNIT, "-o", "cat")
                    .contains("uplink ready"));
            if (cgroup != null) {
                String procs = Files.readString(cgroup.resolve("cgroup.procs")).trim();
                assertTrue(!procs.isEmpty() && procs.lines().allMatch(p -> comm(p).equals("java")),
                        "only the gateway's JVM in " + cgroup + ": " + procs);
                cgroupNote = "host cgroup v1 " + cgroup + " (memory.limit_in_bytes " + Files.readString(cgroup.resolve(
                        "memory.limit_in_bytes")).trim() + ")";
            } else {
                assertEquals(Long.toString(memoryMax), box.exec("cat", "/sys/fs/cgroup" + unitCgroup + "/memory.max").trim());
                cgroupNote = "systemd's cgroup v2 " + unitCgroup;
            }
            Memory idle = memory(box, cgroup, unitCgroup);

            OutputStream toPty = perl.getOutputStream();
            scan(toPty, cards, 0, BURST);
            await("the online burst counted at the sink").atMost(WAIT).until(() -> sink.metrics().accepted() == BURST);
            Memory afterBurst = memory(box, cgroup, unitCgroup);

            broker.stop(true);
            await("the gateway saw the broker go").atMost(WAIT).until(() -> box.exec("journalctl", "--no-pager", "-u", UNIT,
                    "-o", "cat").contains("lost the connection"));
            scan(toPty, cards, BURST, BURST);
            Memory offline = memory(box, cgroup, unitCgroup);
            broker.start();
            await("the backlog drained to the sink").atMost(WAIT).until(() -> sink.metrics().accepted() == 2 * BURST);
            await().pollDelay(Duration.ofSeconds(2)).atMost(WAIT).until(() -> sink.metrics().accepted() == 2 * BURST);
            Memory drained = memory(box, cgroup, unitCgroup);

            // the same process all along: no OOM kill, no watchdog kill, no restart
            assertEquals(pid, box.property(UNIT, "MainPID"));
            assertEquals("0", box.property(UNIT, "NRestarts"));
            assertEquals("active", box.property(UNIT, "ActiveState"));
            assertEquals(0, drained.oomKills(), "OOM kills in the gateway's cgroup");
            assertTrue(drained.peak() <= memoryMax, "peak " + drained.peak() + " within MemoryMax " + memoryMax);
            Logger.info("{} under MemoryMax={} MB (MemoryHigh={} MB) in {}: current idle {} MB, after a burst of {} {} MB, "
                            + "after {} stored offline {} MB, after the drain {} MB; cgroup peak {} MB, limit hit {} times, "
                            + "OOM kills {}; the JVM's VmHWM {} MB",
                    release.suite(), mb(memoryMax), mb(memoryHigh), cgroupNote, mb(idle.current()), BURST, mb(afterBurst.current()),
                    BURST, mb(offline.current()), mb(drained.current()), mb(drained.peak()), drained.limitHits(), drained.oomKills(),
                    mb(vmHwm(box, pid)));
            box.exec("systemctl", "stop", UNIT);
            assertEquals("success", box.property(UNIT, "Result"));
        } finally {
            perl.destroy();
            if (initMoved) {
                moveBack(box); // the start failed: the container's PID 1 leaves the gateway's cgroup all the same
            }
        }
    }

    /** The pty helper (as UnderSystemdIT's): prints the slave's name, then copies each stdin line to it with a CR. */
    private static final String PTY = String.join("\n",
            "open(my $m, '+<', '/dev/ptmx') or die \"ptmx: $!\";",
            "my $unlock = pack('i', 0); ioctl($m, 0x40045431, $unlock) or die \"TIOCSPTLCK: $!\";",
            "my $n = pack('i', 0); ioctl($m, 0x80045430, $n) or die \"TIOCGPTN: $!\";",
            "$| = 1; print '/dev/pts/' . unpack('i', $n) . \"\\n\";",
            "select((select($m), $| = 1)[0]);",
            "while (my $line = <STDIN>) { chomp $line; print $m $line . \"\\r\"; }");

    /** {@code count} scans, {@link #CHUNK} at a time with a pause, so the pipeline's queue never overflows. */
    private static void scan(OutputStream toPty, List<String> cards, int from, int count) throws IOException, InterruptedException {
        for (int i = 0; i < count; i++) {
            toPty.write((cards.get((from + i) % cards.size()) + "\n").getBytes(StandardCharsets.US_ASCII));
            if ((i + 1) % CHUNK == 0) {
                toPty.flush();
                Thread.sleep(400);
            }
        }
        toPty.flush();
    }

    private record Memory(long current, long peak, long limitHits, long oomKills) {
    }

    private static Memory memory(SystemdContainer box, Path hostCgroup, String unitCgroup) throws IOException, InterruptedException {
        if (hostCgroup != null) {
            long oomKills = Files.readAllLines(hostCgroup.resolve("memory.oom_control")).stream().filter(l -> l.startsWith("oom_kill "))
                    .mapToLong(l -> Long.parseLong(l.substring(9).trim())).findFirst().orElse(0);
            return new Memory(number(hostCgroup.resolve("memory.usage_in_bytes")), number(hostCgroup.resolve("memory.max_usage_in_bytes")),
                    number(hostCgroup.resolve("memory.failcnt")), oomKills);
        }
        String base = "/sys/fs/cgroup" + unitCgroup + "/";
        String events = box.exec("cat", base + "memory.events");
        long max = events.lines().filter(l -> l.startsWith("max ")).mapToLong(l -> Long.parseLong(l.substring(4).trim())).sum();
        long oom = events.lines().filter(l -> l.startsWith("oom_kill ")).mapToLong(l -> Long.parseLong(l.substring(9).trim())).sum();
        return new Memory(Long.parseLong(box.exec("cat", base + "memory.current").trim()),
                Long.parseLong(box.exec("cat", base + "memory.peak").trim()), max, oom);
    }

    /**
     * A v1 memory cgroup beside this test's own, limited to {@code limit} bytes, with the container's PID 1
     * moved into it so that the unit's JVM, forked next, is born there ({@link #moveBack} after the start).
     */
    private Path hostMemoryCgroup(SystemdContainer box, long limit) throws IOException {
        assertTrue(Files.isRegularFile(MEMORY_V1.resolve("cgroup.procs")),
                "neither a memory controller in the container nor a v1 memory hierarchy on the host at " + MEMORY_V1);
        Path cgroup = MEMORY_V1.resolve(ownMemoryCgroup().substring(1)).resolve("7stamp-gateway-" + dir.getFileName());
        Files.createDirectories(cgroup);
        Files.writeString(cgroup.resolve("memory.limit_in_bytes"), Long.toString(limit));
        Files.writeString(cgroup.resolve("cgroup.procs"), Long.toString(box.initPid()));
        return cgroup;
    }

    /** The container's PID 1 back into this test's memory cgroup (where nspawn started it). */
    private static void moveBack(SystemdContainer box) throws IOException {
        Files.writeString(MEMORY_V1.resolve(ownMemoryCgroup().substring(1)).resolve("cgroup.procs"), Long.toString(box.initPid()));
    }

    private static String ownMemoryCgroup() throws IOException {
        return Files.readAllLines(Path.of("/proc/self/cgroup")).stream().filter(l -> l.matches("\\d+:([^:]*,)?memory(,[^:]*)?:.*"))
                .map(l -> l.substring(l.lastIndexOf(':') + 1)).findFirst()
                .orElseThrow(() -> new AssertionError("no memory controller line in /proc/self/cgroup"));
    }

    private static void removeWhenEmpty(Path cgroup) {
        try {
            await().atMost(Duration.ofSeconds(30)).until(() -> Files.readString(cgroup.resolve("cgroup.procs")).isBlank());
            Files.delete(cgroup);
        } catch (IOException | RuntimeException e) {
            Logger.warn("memory cgroup {} not removed: {}", cgroup, e.toString());
        }
    }

    private static long vmHwm(SystemdContainer box, String pid) throws IOException, InterruptedException {
        return box.exec("cat", "/proc/" + pid + "/status").lines().filter(l -> l.startsWith("VmHWM:"))
                .mapToLong(l -> Long.parseLong(l.substring(6).trim().split("\\s+")[0]) * 1024).findFirst().orElse(0);
    }

    private static String comm(String pid) {
        try {
            return Files.readString(Path.of("/proc", pid.trim(), "comm")).trim();
        } catch (IOException e) {
            return "(gone)";
        }
    }

    private static long number(Path file) throws IOException {
        return Long.parseLong(Files.readString(file).trim());
    }

    private static long mb(long bytes) {
        return Math.round(bytes / 1048576.0);
    }

    /** The sink on the host's Mosquitto; its store (and signing key) under {@code dir/sink}. */
    private TestSink sinkConfig(String brokerUrl) {
        return TestSink.in(dir).set("store.dir", dir.resolve("sink").toString()).broker(brokerUrl).program("coffee", 10);
    }
}
