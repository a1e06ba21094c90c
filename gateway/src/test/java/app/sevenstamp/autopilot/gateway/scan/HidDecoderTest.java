package app.sevenstamp.autopilot.gateway.scan;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.api.Test;

class HidDecoderTest {
    static final String CARD = "7S1.k1.coffee.ABCDEFGHJKMNPQRS.o0_f8SyhOO7X43VskB8--g1cwD2xH38l2CxA4FfLTBEuHX4WE7qEUT41"
            + "wU7-VYSkVug5o4UYMheGJXFECRPPBQ";

    static List<Arguments> layoutsAndSizes() {
        List<Arguments> out = new ArrayList<>();
        for (KeyLayout layout : KeyLayout.values()) {
            for (EventSize size : EventSize.values()) {
                out.add(Arguments.of(layout, size));
            }
        }
        return out;
    }

    private static List<Frame> decode(EventSize size, KeyLayout layout, byte[] bytes, int chunk) {
        HidDecoder decoder = new HidDecoder(size, layout, 256);
        List<Frame> frames = new ArrayList<>();
        for (int i = 0; i < bytes.length; i += chunk) {
            decoder.feed(bytes, i, Math.min(chunk, bytes.length - i), frames::add);
        }
        return frames;
    }

    @ParameterizedTest
    @MethodSource("layoutsAndSizes")
    void aCardCodeTypedInEachLayoutAndStructSizeReadsBackExactly(KeyLayout layout, EventSize size) {
        byte[] stream = new EvdevStreams.Stream(size).type(layout, CARD).enter().type(layout, "ab-12_Z.").tab().bytes();
        for (int chunk : new int[] {1, 7, size.bytes(), 1000, stream.length}) {
            assertEquals(List.of(new Frame.Text(CARD), new Frame.Text("ab-12_Z.")), decode(size, layout, stream, chunk),
                    "chunk " + chunk);
        }
    }

    @ParameterizedTest
    @EnumSource(EventSize.class)
    void readingWithTheWrongLayoutGivesAnotherTextNotTheCard(EventSize size) {
        byte[] stream = new EvdevStreams.Stream(size).type(KeyLayout.DE, "yz").enter().bytes();
        assertEquals(List.of(new Frame.Text("zy")), decode(size, KeyLayout.US, stream, 64));
    }

    @Test
    void frenchDigitsNeedShiftAndTheUnshiftedRowTypesSymbols() {
        // independent of the test helper: key 2 is '&' unshifted and '1' shifted on AZERTY
        byte[] stream = new EvdevStreams.Stream(EventSize.BYTES_24).press(2).key(42, 1).press(2).key(42, 0).enter().bytes();
        assertEquals(List.of(new Frame.Text("&1")), decode(EventSize.BYTES_24, KeyLayout.FR, stream, 24));
    }

    @ParameterizedTest
    @MethodSource("layoutsAndSizes")
    void capsLockInvertsShiftForLettersOnly(KeyLayout layout, EventSize size) {
        // With CapsLock on the scanner sends lower-case letters with Shift (it inverts what it types), so
        // typing "ab" with shift under caps gives "ab"; here we type unshifted strokes under CapsLock.
        byte[] stream = new EvdevStreams.Stream(size).capsLock().type(layout, "abc.1").enter().capsLock()
                .type(layout, "abc").enter().bytes();
        assertEquals(List.of(new Frame.Text("ABC.1"), new Frame.Text("abc")), decode(size, layout, stream, 100));
    }

    @ParameterizedTest
    @EnumSource(EventSize.class)
    void synDroppedDiscardsThePartialScanAndWhatFollowsUntilTheNextReport(EventSize size) {
        byte[] stream = new EvdevStreams.Stream(size).type(KeyLayout.US, "LOST").synDropped()
                .event(EvdevStreams.EV_KEY, 30, 1) // 'a' inside the dropped window: ignored
                .event(EvdevStreams.EV_SYN, 0, 0)
                .type(KeyLayout.US, "ok").enter().bytes();
        assertEquals(List.of(new Frame.Text("ok")), decode(size, KeyLayout.US, stream, 50));
    }

    @Test
    void synDroppedReleasesAHeldShift() {
        byte[] stream = new EvdevStreams.Stream(EventSize.BYTES_16).key(42, 1).synDropped().event(0, 0, 0)
                .type(KeyLayout.US, "a").enter().bytes();
        assertEquals(List.of(new Frame.Text("a")), decode(EventSize.BYTES_16, KeyLayout.US, stream, 16));
    }

    @Test
    void autoRepeatAndCtrlChordsTypeNothing() {
        byte[] stream = new EvdevStreams.Stream(EventSize.BYTES_24).key(30, 1).key(30, 2).key(30, 2).key(30, 0)
                .key(29, 1).press(46).key(29, 0).enter().bytes();
        assertEquals(List.of(new Frame.Text("a")), decode(EventSize.BYTES_24, KeyLayout.US, stream, 24));
    }

    @Test
    void aScanLongerThanTheLimitIsOneOverlongFrame() {
        byte[] stream = new EvdevStreams.Stream(EventSize.BYTES_24).type(KeyLayout.US, "7".repeat(300)).enter()
                .type(KeyLayout.US, "ok").enter().bytes();
        assertEquals(List.of(new Frame.Overlong(300, 256), new Frame.Text("ok")),
                decode(EventSize.BYTES_24, KeyLayout.US, stream, 4096));
    }

    @Test
    void germanAltGrTypesTheAtSign() {
        byte[] stream = new EvdevStreams.Stream(EventSize.BYTES_24).key(100, 1).press(16).key(100, 0).press(16).enter().bytes();
        assertEquals(List.of(new Frame.Text("@q")), decode(EventSize.BYTES_24, KeyLayout.DE, stream, 24));
    }

    @Test
    void theWrongStructSizeDoesNotCrashAndYieldsNoCard() {
        byte[] stream = new EvdevStreams.Stream(EventSize.BYTES_24).type(KeyLayout.US, CARD).enter().bytes();
        List<Frame> frames = decode(EventSize.BYTES_16, KeyLayout.US, stream, 333);
        frames.forEach(f -> {
            if (f instanceof Frame.Text t) {
                assertEquals(false, t.text().equals(CARD));
            }
        });
    }

    /** Property: random bytes, any layout and size, any chunking: no exception, never a text over the limit. */
    @Test
    void randomBytesNeverCrashAndNeverYieldMoreThanMaxLength() {
        Random random = new Random(20240603);
        for (int run = 0; run < 3000; run++) {
            EventSize size = EventSize.values()[random.nextInt(2)];
            KeyLayout layout = KeyLayout.values()[random.nextInt(3)];
            int max = 16 + random.nextInt(64);
            HidDecoder decoder = new HidDecoder(size, layout, max);
            byte[] bytes = new byte[random.nextInt(4000)];
            if (random.nextBoolean()) {
                random.nextBytes(bytes);
            } else {
                // plausible events with random codes and values: reaches the key handling, not only the parser
                EvdevStreams.Stream s = new EvdevStreams.Stream(size);
                for (int i = 0; i < bytes.length / size.bytes(); i++) {
                    s.event(random.nextInt(3), random.nextInt(130), random.nextInt(4) - 1);
                }
                bytes = s.bytes();
            }
            List<Frame> frames = new ArrayList<>();
            int i = 0;
            while (i < bytes.length) {
                int n = Math.min(1 + random.nextInt(100), bytes.length - i);
                decoder.feed(bytes, i, n, frames::add);
                i += n;
            }
            for (Frame f : frames) {
                if (f instanceof Frame.Text t) {
                    assertEquals(true, t.text().length() <= max, "text of " + t.text().length() + " > " + max);
                    assertEquals(false, t.text().isEmpty());
                }
            }
        }
    }
}
