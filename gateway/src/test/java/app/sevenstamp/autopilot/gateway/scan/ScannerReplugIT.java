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
     * What each open descriptor points to, so a failure shows what leaked. Left out: sockets (the scan
     * sources open none, and the test framework's fork opens its channel to Maven lazily), the listing's own
     * directory descriptor, and descriptors that close between the listing and the read of their link: both
     * exist only for a moment, and CI once saw two of each in a "before" listing, which made the counts differ
     * with nothing leaked.
     */
    private static List<String> openFds() throws IOException {
        String listing = Path.of("/proc/self/fd").toRealPath().toString();
        try (Stream<Path> fds = Files.list(Path.of("/proc/self/fd"))) {
            return fds.map(fd -> {
                try {
                    return Files.readSymbolicLink(fd).toString();
                } catch (IOException e) {
                    return TRANSIENT;
                }
            }).filter(target -> !target.startsWith("socket:") && !target.equals(TRANSIENT) && !target.equals(listing))
                    .sorted().toList();
        }
    }

    private static final String TRANSIENT = "(closed while listing)";

    /**
     * The smallest of the listings taken over half a second: the baseline without a descriptor that some
     * thread (a class loaded from a jar, the process reaper closing a child's pipe) holds for a moment.
     */
    private static List<String> baselineFds() throws IOException {
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
    private static List<String> settledFds(int expected) throws IOException {
        try {
            await().atMost(Duration.ofSeconds(5)).pollInterval(Duration.ofMillis(50))
                    .until(() -> openFds().size() <= expected);
        } catch (org.awaitility.core.ConditionTimeoutException e) {
            // still more: the caller's comparison fails and shows both listings
        }
        return openFds();
    }

    /**
     * Live threads, without the JDK's "process reaper" pool: the test itself starts socat and mkfifo
     * processes, and that pool grows and idles out on its own schedule (60 s), unrelated to the scanner;
     * nor Awaitility's pollers, which the test's own waits start and which end a moment later.
     */
    private static int threads() {
        return (int) Thread.getAllStackTraces().keySet().stream()
                .filter(t -> t.isAlive() && !t.getName().startsWith("process reaper")
                        && !t.getName().startsWith("awaitility")).count();
    }

    /** As {@link #settledFds}, for threads: one that ends a moment later is not a leak. */
    private static int settledThreads(int expected) {
        try {
            await().atMost(Duration.ofSeconds(5)).pollInterval(Duration.ofMillis(50)).until(() -> threads() <= expected);
        } catch (org.awaitility.core.ConditionTimeoutException e) {
            System.out.println("threads still alive: " + Thread.getAllStackTraces().keySet().stream()
                    .map(Thread::getName).sorted().toList());
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
