package app.sevenstamp.autopilot.gateway.scan;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import app.sevenstamp.autopilot.protocol.testing.SocatPty;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** jSerialComm on a socat pseudo-terminal pair: the pty stands in for a USB-serial scanner. */
class SerialScanSourceIT {
    private static final Duration WAIT = Duration.ofSeconds(15);

    @TempDir
    Path dir;

    private final List<Frame> frames = new CopyOnWriteArrayList<>();
    private final List<String> lost = new CopyOnWriteArrayList<>();
    private final AtomicInteger ready = new AtomicInteger();
    private final List<String> devices = new CopyOnWriteArrayList<>();

    private final ScannerListener listener = new ScannerListener() {
        @Override
        public void scannerLost(String reason) {
            lost.add(reason);
        }

        @Override
        public void scannerReady(String device) {
            ready.incrementAndGet();
            devices.add(device);
        }
    };

    private SerialScanSource source(Path port) {
        return new SerialScanSource(DevicePath.of(port.toString()), 9600, null,
                new Framer(Terminator.CR, 256, StandardCharsets.UTF_8, false), frames::add, listener,
                Duration.ofMillis(200));
    }

    @Test
    void readsScansAndSurvivesAnUnplug() {
        SocatPty pty = SocatPty.start(dir, "scanner");
        SerialScanSource source = source(pty.devicePath());
        try {
            source.start();
            pty.scan("FIRST");
            pty.write("7".repeat(5000).getBytes(StandardCharsets.US_ASCII));
            pty.scan("");
            pty.scan("SECOND");
            await().atMost(WAIT).until(() -> frames.size() == 3);
            assertEquals(List.of(new Frame.Text("FIRST"), new Frame.Overlong(5000, 256), new Frame.Text("SECOND")), frames);

            pty.close(); // unplugged
            await().atMost(WAIT).until(() -> lost.size() == 1);

            pty = SocatPty.start(dir, "scanner"); // plugged in again at the same path
            await().atMost(WAIT).until(() -> ready.get() == 2);
            pty.scan("THIRD");
            await().atMost(WAIT).until(() -> frames.size() == 4);
            assertEquals(new Frame.Text("THIRD"), frames.get(3));
            assertEquals(1, lost.size(), "the loss is reported once, not per retry: " + lost);
        } finally {
            source.close();
            pty.close();
        }
    }

    @Test
    void aMissingPortIsReportedLostAndPickedUpWhenItAppears() {
        Path port = dir.resolve("later");
        SerialScanSource source = source(port);
        SocatPty pty = null;
        try {
            source.start();
            await().atMost(WAIT).until(() -> lost.size() == 1);
            assertTrue(lost.get(0).startsWith("cannot open " + port), lost.get(0));
            assertEquals(0, ready.get());
            pty = SocatPty.start(dir, "later");
            await().atMost(WAIT).until(() -> ready.get() == 1);
            pty.scan("HELLO");
            await().atMost(WAIT).until(() -> frames.equals(List.of(new Frame.Text("HELLO"))));
        } finally {
            source.close();
            if (pty != null) {
                pty.close();
            }
        }
    }

    @Test
    void closeStopsTheReaderPromptlyAndDeliversNothingMore() {
        SocatPty pty = SocatPty.start(dir, "scanner");
        SerialScanSource source = source(pty.devicePath());
        try {
            source.start();
            pty.scan("ONE");
            await().atMost(WAIT).until(() -> frames.size() == 1);
            long start = System.nanoTime();
            source.close();
            assertTrue(System.nanoTime() - start < Duration.ofSeconds(2).toNanos());
            assertEquals(List.of(), lost, "closing is not losing the scanner");
        } finally {
            pty.close();
        }
    }

    @Test
    void aGlobFindsTheScannerAgainUnderANewName() {
        Path glob = dir.resolve("usb-Honeywell*-if00"); // as in /dev/serial/by-id; not the -feed link beside it
        SerialScanSource source = new SerialScanSource(DevicePath.of(glob.toString()), 9600, null,
                new Framer(Terminator.CR, 256, StandardCharsets.UTF_8, false), frames::add, listener, Duration.ofMillis(200));
        SocatPty pty = SocatPty.start(dir, "usb-Honeywell_1-if00");
        try {
            source.start();
            await().atMost(WAIT).until(() -> ready.get() == 1);
            pty.scan("ONE");
            await().atMost(WAIT).until(() -> frames.size() == 1);
            pty.close();
            await().atMost(WAIT).until(() -> lost.size() == 1);
            pty = SocatPty.start(dir, "usb-Honeywell_2-if00"); // re-enumerated: another ttyACM, another name
            await().atMost(WAIT).until(() -> ready.get() == 2);
            pty.scan("TWO");
            await().atMost(WAIT).until(() -> frames.size() == 2);
            assertEquals(List.of(new Frame.Text("ONE"), new Frame.Text("TWO")), frames);
            assertEquals(List.of(dir.resolve("usb-Honeywell_1-if00").toString(), dir.resolve("usb-Honeywell_2-if00").toString()),
                    devices);
        } finally {
            source.close();
            pty.close();
        }
    }

    @Test
    void withoutATerminatorAPauseEndsTheScan() {
        SocatPty pty = SocatPty.start(dir, "quiet");
        SerialScanSource source = new SerialScanSource(DevicePath.of(pty.devicePath().toString()), 9600,
                Duration.ofMillis(100), new Framer(Terminator.NONE, 256, StandardCharsets.UTF_8, false), frames::add,
                listener, Duration.ofMillis(200));
        try {
            source.start();
            await().atMost(WAIT).until(() -> ready.get() == 1);
            pty.write("7S1.k1.coffee".getBytes(StandardCharsets.US_ASCII));
            await().atMost(WAIT).until(() -> frames.size() == 1);
            pty.write("NEXT".getBytes(StandardCharsets.US_ASCII));
            await().atMost(WAIT).until(() -> frames.size() == 2);
            assertEquals(List.of(new Frame.Text("7S1.k1.coffee"), new Frame.Text("NEXT")), frames);
        } finally {
            source.close();
            pty.close();
        }
    }
}
