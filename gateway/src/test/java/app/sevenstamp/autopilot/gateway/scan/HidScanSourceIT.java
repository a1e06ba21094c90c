package app.sevenstamp.autopilot.gateway.scan;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The keyboard-mode source on recorded input_event streams played through a FIFO: the real open, grab
 * attempt (a FIFO is no evdev device: the grab fails with ENOTTY and the source reads on), poll and read
 * through JNA, for every layout and both struct sizes.
 */
class HidScanSourceIT {
    private static final Duration WAIT = Duration.ofSeconds(15);

    @TempDir
    Path dir;

    private final List<Frame> frames = new CopyOnWriteArrayList<>();
    private final List<String> lost = new CopyOnWriteArrayList<>();
    private final List<String> ready = new CopyOnWriteArrayList<>();

    private final ScannerListener listener = new ScannerListener() {
        @Override
        public void scannerLost(String reason) {
            lost.add(reason);
        }

        @Override
        public void scannerReady(String device) {
            ready.add(device);
        }
    };

    private HidScanSource source(String path, EventSize size, KeyLayout layout) {
        return new HidScanSource(DevicePath.of(path), new HidDecoder(size, layout, 256), true, frames::add, listener,
                Duration.ofMillis(100));
    }

    static List<Arguments> layoutsAndSizes() {
        List<Arguments> out = new ArrayList<>();
        for (KeyLayout layout : KeyLayout.values()) {
            for (EventSize size : EventSize.values()) {
                out.add(Arguments.of(layout, size));
            }
        }
        return out;
    }

    @ParameterizedTest
    @MethodSource("layoutsAndSizes")
    void aRecordedScanPlayedThroughAFifoIsRead(KeyLayout layout, EventSize size) {
        Path fifo = Fifo.create(dir.resolve("usb-Scanner-event-kbd"));
        HidScanSource source = source(fifo.toString(), size, layout);
        try {
            source.start();
            await().atMost(WAIT).until(() -> ready.size() == 1);
            Fifo.play(fifo, new EvdevStreams.Stream(size).type(layout, HidDecoderTest.CARD).enter()
                    .type(layout, "Second-1_x.").tab().bytes());
            await().atMost(WAIT).until(() -> frames.size() == 2);
            assertEquals(List.of(new Frame.Text(HidDecoderTest.CARD), new Frame.Text("Second-1_x.")), frames);
        } finally {
            source.close();
        }
    }

    @Test
    void endOfInputIsALossAndTheDeviceIsFoundAgainByItsGlob() throws IOException {
        Path first = Fifo.create(dir.resolve("usb-Netum-event-kbd"));
        HidScanSource source = source(dir.resolve("*-event-kbd").toString(), EventSize.BYTES_24, KeyLayout.US);
        try {
            source.start();
            await().atMost(WAIT).until(() -> ready.size() == 1);
            Fifo.playAndUnplug(first, new EvdevStreams.Stream(EventSize.BYTES_24).type(KeyLayout.US, "one").enter().bytes());
            await().atMost(WAIT).until(() -> lost.size() == 1);

            Path second = Fifo.create(dir.resolve("usb-Netum-if01-event-kbd")); // back under another name
            await().atMost(WAIT).until(() -> ready.size() == 2);
            Fifo.playAndUnplug(second, new EvdevStreams.Stream(EventSize.BYTES_24).type(KeyLayout.US, "two").enter().bytes());
            await().atMost(WAIT).until(() -> frames.size() == 2 && lost.size() == 2);
            assertEquals(List.of(new Frame.Text("one"), new Frame.Text("two")), frames);
            assertEquals(List.of(first.toString(), second.toString()), ready);
            assertTrue(lost.get(0).startsWith(first.toString()), lost.get(0));
        } finally {
            source.close();
        }
    }

    @Test
    void aHalfScanCutOffByTheUnplugIsDiscarded() {
        Path fifo = Fifo.create(dir.resolve("kbd"));
        HidScanSource source = source(fifo.toString(), EventSize.BYTES_16, KeyLayout.DE);
        try {
            source.start();
            await().atMost(WAIT).until(() -> ready.size() == 1);
            Fifo.play(fifo, new EvdevStreams.Stream(EventSize.BYTES_16).type(KeyLayout.DE, "half").bytes());
            await().atMost(WAIT).until(() -> ready.size() == 2);
            Fifo.play(fifo, new EvdevStreams.Stream(EventSize.BYTES_16).type(KeyLayout.DE, "whole").enter().bytes());
            await().atMost(WAIT).until(() -> frames.size() == 1);
            assertEquals(List.of(new Frame.Text("whole")), frames);
        } finally {
            source.close();
        }
    }

    @Test
    void aMissingDeviceIsReportedOnceAndCloseIsPrompt() {
        HidScanSource source = source(dir.resolve("absent-event-kbd").toString(), EventSize.BYTES_24, KeyLayout.US);
        source.start();
        await().atMost(WAIT).until(() -> lost.size() == 1);
        assertTrue(lost.get(0).startsWith("cannot open " + dir.resolve("absent-event-kbd") + " (unplugged)"), lost.get(0));
        long start = System.nanoTime();
        source.close();
        assertTrue(System.nanoTime() - start < Duration.ofSeconds(2).toNanos());
        assertEquals(1, lost.size());
    }
}
