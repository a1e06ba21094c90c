package app.sevenstamp.autopilot.gateway.scan;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import app.sevenstamp.autopilot.protocol.testing.SocatPty;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A scanner knocked out and plugged back in 100 times: every loss is noticed, every return reopened, and
 * afterwards the process has no more threads and no more open file descriptors than before.
 */
class ScannerReplugIT {
    private static final int CYCLES = 100;
    private static final Duration WAIT = Duration.ofSeconds(15);

    @TempDir
    Path dir;

    private final List<Frame> frames = new CopyOnWriteArrayList<>();
    private final AtomicInteger lost = new AtomicInteger();
    private final AtomicInteger ready = new AtomicInteger();
    private final ScannerListener listener = new ScannerListener() {
        @Override
        public void scannerLost(String reason) {
            lost.incrementAndGet();
        }

        @Override
        public void scannerReady(String device) {
            ready.incrementAndGet();
        }
    };

    /**
     * What each open descriptor the scan sources could have opened points to, so a failure shows what leaked.
     * Those are the device (a path under this test's directory, a pty under /dev/pts) and what jSerialComm's
     * native code opens to look a port up (/dev, /sys, /proc); they open no pipes, sockets or selectors (the
     * native library imports open, fopen and opendir, nothing else that makes a descriptor). Everything else
     * is left out, because other tests run beside this one in the same JVM ({@code @Execution(CONCURRENT)}:
     * UnderSystemdIT's HTTP clients and child processes) and open and close their own meanwhile. Also left out: the listing's own directory descriptor, and descriptors that
     * close between the listing and the read of their link.
     */
    private List<String> openFds() throws IOException {
        String listing = Path.of("/proc/self/fd").toRealPath().toString();
        List<String> ours = List.of(dir.toRealPath().toString() + "/", "/dev/", "/sys/", "/proc/");
        try (Stream<Path> fds = Files.list(Path.of("/proc/self/fd"))) {
            return fds.map(fd -> {
                try {
                    return Files.readSymbolicLink(fd).toString();
                } catch (IOException e) {
                    return TRANSIENT;
                }
            }).filter(target -> !target.equals(TRANSIENT) && !target.equals(listing)
                    && ours.stream().anyMatch(target::startsWith)).sorted().toList();
        }
    }

    private static final String TRANSIENT = "(closed while listing)";

    /**
     * The smallest of the listings taken over half a second: the baseline without a descriptor that some
     * thread (a class loaded from a jar, the process reaper closing a child's pipe) holds for a moment.
     */
    private List<String> baselineFds() throws IOException {
        AtomicReference<List<String>> smallest = new AtomicReference<>(openFds());
        AtomicInteger samples = new AtomicInteger();
        await().pollInterval(Duration.ofMillis(50)).atMost(Duration.ofSeconds(5)).until(() -> {
            List<String> now = openFds();
            if (now.size() < smallest.get().size()) {
                smallest.set(now);
            }
            return samples.incrementAndGet() >= 10;
        });
        return smallest.get();
    }

    /**
     * The open descriptors once the count is back at {@code expected}, or after 5 s: a descriptor another
     * thread holds for a moment goes away, a leaked one stays and fails the comparison.
     */
    private List<String> settledFds(int expected) throws IOException {
        try {
            await().atMost(Duration.ofSeconds(5)).pollInterval(Duration.ofMillis(50))
                    .until(() -> openFds().size() <= expected);
        } catch (org.awaitility.core.ConditionTimeoutException e) {
            // still more: the caller's comparison fails and shows both listings
        }
        return openFds();
    }

    /**
     * Live threads the scan sources could have started or left behind: named {@code scanner-...}, or running
     * the scan code, jSerialComm or JNA. Not the others: tests running beside this one start and end their
     * own (HTTP clients, MQTT clients, JUnit's workers), and the JDK's "process reaper" pool grows and idles
     * out on its own schedule for the socat and mkfifo processes this test starts. Counting every thread, CI
     * once failed with "threads 17 -> 20": an HTTP client's four workers of a test beside this one.
     */
    private static int threads() {
        return (int) Thread.getAllStackTraces().entrySet().stream()
                .filter(e -> e.getKey().isAlive() && scanWork(e.getKey(), e.getValue())).count();
    }

    private static boolean scanWork(Thread t, StackTraceElement[] stack) {
        if (t.getName().startsWith("scanner")) {
            return true;
        }
        for (StackTraceElement frame : stack) {
            String c = frame.getClassName();
            if (c.startsWith("app.sevenstamp.autopilot.gateway.scan.") && !c.endsWith("IT") && !c.contains("IT$")
                    || c.startsWith("com.fazecast.") || c.startsWith("com.sun.jna.")) {
                return true;
            }
        }
        return false;
    }

    /** As {@link #settledFds}, for threads: one that ends a moment later is not a leak. */
    private static int settledThreads(int expected) {
        try {
            await().atMost(Duration.ofSeconds(5)).pollInterval(Duration.ofMillis(50)).until(() -> threads() <= expected);
        } catch (org.awaitility.core.ConditionTimeoutException e) {
            System.out.println("threads still alive: " + Thread.getAllStackTraces().entrySet().stream()
                    .filter(t -> scanWork(t.getKey(), t.getValue())).map(t -> t.getKey().getName()).sorted().toList());
        }
        return threads();
    }

    private static long scannerThreads() {
        return Thread.getAllStackTraces().keySet().stream().filter(t -> t.getName().startsWith("scanner-")).count();
    }

    @Test
    void serialHundredUnplugsLeakNoThreadAndNoDescriptor() throws IOException {
        Path glob = dir.resolve("usb-Scanner-?"); // not the -feed link and -socat.log that SocatPty puts beside it
        SerialScanSource source = new SerialScanSource(DevicePath.of(glob.toString()), 9600, null,
                new Framer(Terminator.CR, 256, StandardCharsets.UTF_8, false), frames::add, listener, Duration.ofMillis(50));
        // warm-up cycle: jSerialComm loads its native library and the JDK starts its process reaper once
        SocatPty pty = SocatPty.start(dir, "usb-Scanner-0");
        List<String> fdsBefore;
        int threadsBefore;
        List<String> fdsAfter;
        int threadsAfter;
        try {
            source.start();
            await().atMost(WAIT).until(() -> ready.get() == 1);
            pty.close();
            await().atMost(WAIT).until(() -> lost.get() == 1);
            fdsBefore = baselineFds();
            threadsBefore = threads();

            for (int i = 1; i <= CYCLES; i++) {
                int n = i;
                pty = SocatPty.start(dir, "usb-Scanner-" + (i % 7)); // comes back as another "ttyACM"
                await().atMost(WAIT).until(() -> ready.get() == n + 1);
                pty.scan("SCAN-" + i);
                await().atMost(WAIT).until(() -> frames.size() == n);
                pty.close();
                await().atMost(WAIT).until(() -> lost.get() == n + 1);
            }
            threadsAfter = settledThreads(threadsBefore);
            fdsAfter = settledFds(fdsBefore.size());
        } finally {
            source.close();
            pty.close();
        }

        assertEquals("SCAN-" + CYCLES, ((Frame.Text) frames.get(CYCLES - 1)).text());
        System.out.printf("serial replug x%d: fds %d -> %d, threads %d -> %d%n", CYCLES, fdsBefore.size(), fdsAfter.size(),
                threadsBefore, threadsAfter);
        // the measurements are taken in the same state (scanner lost, socat gone): a leak of one descriptor
        // per cycle would show 100 more; the baseline is the smallest listing, so any one more is a leak
        assertTrue(fdsAfter.size() <= fdsBefore.size(), "open file descriptors after " + CYCLES + " unplugs: before "
                + fdsBefore + "\nafter " + fdsAfter);
        assertTrue(threadsAfter <= threadsBefore, "threads " + threadsBefore + " -> " + threadsAfter);
        await().atMost(WAIT).until(() -> scannerThreads() == 0);
    }

    @Test
    void keyboardHundredUnplugsLeakNoThreadAndNoDescriptor() throws IOException {
        Path fifo = dir.resolve("usb-Scanner-event-kbd");
        HidScanSource source = new HidScanSource(DevicePath.of(dir.resolve("*-event-kbd").toString()),
                new HidDecoder(EventSize.BYTES_24, KeyLayout.US, 256), true, frames::add, listener, Duration.ofMillis(20));
        List<String> fdsBefore;
        int threadsBefore;
        List<String> fdsAfter;
        int threadsAfter;
        try {
            Fifo.create(fifo);
            source.start();
            await().atMost(WAIT).until(() -> ready.get() == 1);
            Fifo.playAndUnplug(fifo, new byte[0]);
            await().atMost(WAIT).until(() -> lost.get() == 1);
            fdsBefore = baselineFds();
            threadsBefore = threads();

            for (int i = 1; i <= CYCLES; i++) {
                int n = i;
                Fifo.create(fifo);
                await().atMost(WAIT).until(() -> ready.get() == n + 1);
                Fifo.playAndUnplug(fifo, new EvdevStreams.Stream(EventSize.BYTES_24).type(KeyLayout.US, "scan-" + i).enter().bytes());
                await().atMost(WAIT).until(() -> lost.get() == n + 1);
            }
            threadsAfter = settledThreads(threadsBefore);
            fdsAfter = settledFds(fdsBefore.size());
        } finally {
            source.close();
        }

        assertEquals(CYCLES, frames.size());
        System.out.printf("keyboard replug x%d: fds %d -> %d, threads %d -> %d%n", CYCLES, fdsBefore.size(), fdsAfter.size(),
                threadsBefore, threadsAfter);
        assertTrue(fdsAfter.size() <= fdsBefore.size(), "open file descriptors after " + CYCLES + " unplugs: before "
                + fdsBefore + "\nafter " + fdsAfter);
        assertTrue(threadsAfter <= threadsBefore, "threads " + threadsBefore + " -> " + threadsAfter);
    }
}
