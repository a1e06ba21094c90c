package app.sevenstamp.autopilot.gateway.scan;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.Charset;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

class FramerTest {

    private final List<Frame> frames = new ArrayList<>();

    private void feed(Framer framer, String text, Charset charset) {
        byte[] bytes = text.getBytes(charset);
        framer.feed(bytes, 0, bytes.length, frames::add);
    }

    private void feed(Framer framer, String text) {
        feed(framer, text, StandardCharsets.ISO_8859_1);
    }

    private static Frame text(String s) {
        return new Frame.Text(s);
    }

    @ParameterizedTest(name = "{0}")
    @EnumSource(value = Terminator.class, names = "NONE", mode = EnumSource.Mode.EXCLUDE)
    void cutsFramesAtTheConfiguredTerminator(Terminator terminator) {
        String end = switch (terminator) {
            case CR -> "\r";
            case LF -> "\n";
            case CRLF -> "\r\n";
            case TAB -> "\t";
            case NONE -> throw new IllegalArgumentException("NONE ends a scan by time");
        };
        Framer framer = new Framer(terminator, 64, StandardCharsets.UTF_8, false);
        feed(framer, "A1" + end + "B2" + end);
        assertEquals(List.of(text("A1"), text("B2")), frames);
    }

    @Test
    void holdsAPartialLineUntilItsTerminatorArrives() {
        Framer framer = new Framer(Terminator.CR, 64, StandardCharsets.UTF_8, false);
        feed(framer, "7S1.k1.");
        assertEquals(List.of(), frames);
        feed(framer, "coffee\r");
        assertEquals(List.of(text("7S1.k1.coffee")), frames);
    }

    @Test
    void crlfSplitAcrossReadsStillEndsOneFrame() {
        Framer framer = new Framer(Terminator.CRLF, 64, StandardCharsets.UTF_8, false);
        feed(framer, "A1\r");
        feed(framer, "\nB2\r");
        feed(framer, "\n");
        assertEquals(List.of(text("A1"), text("B2")), frames);
    }

    @Test
    void crlfModeKeepsALoneCrAsData() {
        Framer framer = new Framer(Terminator.CRLF, 64, StandardCharsets.UTF_8, false);
        feed(framer, "A\rB\r\n");
        assertEquals(List.of(text("A\rB")), frames);
    }

    @Test
    void strictTerminatorKeepsOtherLineEndsInTheFrame() {
        Framer framer = new Framer(Terminator.CR, 64, StandardCharsets.UTF_8, false);
        feed(framer, "A1\nB2\r");
        assertEquals(List.of(text("A1\nB2")), frames);
    }

    @Test
    void stdinModeAcceptsCrLfAndCrlfAlike() {
        Framer framer = new Framer(Terminator.CR, 64, StandardCharsets.UTF_8, true);
        feed(framer, "A1\nB2\rC3\r\nD4\n\n");
        assertEquals(List.of(text("A1"), text("B2"), text("C3"), text("D4")), frames);
    }

    @Test
    void emptyLinesYieldNothing() {
        Framer framer = new Framer(Terminator.CR, 64, StandardCharsets.UTF_8, false);
        feed(framer, "\r\r\rA\r\r");
        assertEquals(List.of(text("A")), frames);
    }

    @Test
    void aLineOfExactlyMaxLengthIsAFrame() {
        Framer framer = new Framer(Terminator.CR, 16, StandardCharsets.UTF_8, false);
        feed(framer, "0123456789ABCDEF\r");
        assertEquals(List.of(text("0123456789ABCDEF")), frames);
    }

    @Test
    void overlongLineIsOneOverlongFrameAndNormalFramesContinue() {
        Framer framer = new Framer(Terminator.CR, 256, StandardCharsets.UTF_8, false);
        feed(framer, "X".repeat(10_000) + "\r" + "AFTER\r");
        assertEquals(List.of(new Frame.Overlong(10_000, 256), text("AFTER")), frames);
    }

    @Test
    void overlongLineArrivingInSmallChunksIsStillOneFrame() {
        Framer framer = new Framer(Terminator.LF, 16, StandardCharsets.UTF_8, false);
        for (int i = 0; i < 100; i++) {
            feed(framer, "0123456789");
        }
        feed(framer, "\nOK\n");
        assertEquals(List.of(new Frame.Overlong(1000, 16), text("OK")), frames);
    }

    @Test
    void crlfTerminatorDoesNotCountTowardsMaxLength() {
        Framer framer = new Framer(Terminator.CRLF, 16, StandardCharsets.UTF_8, false);
        feed(framer, "0123456789ABCDEF\r\n");
        assertEquals(List.of(text("0123456789ABCDEF")), frames);
    }

    @Test
    void decodesWithTheConfiguredCharset() {
        byte[] cafeUtf8 = "café\r".getBytes(StandardCharsets.UTF_8);
        List<Frame> utf8 = new ArrayList<>();
        List<Frame> latin1 = new ArrayList<>();
        new Framer(Terminator.CR, 64, StandardCharsets.UTF_8, false).feed(cafeUtf8, 0, cafeUtf8.length, utf8::add);
        new Framer(Terminator.CR, 64, StandardCharsets.ISO_8859_1, false).feed(cafeUtf8, 0, cafeUtf8.length, latin1::add);
        assertEquals(List.of(text("café")), utf8);
        assertEquals(List.of(text("cafÃ©")), latin1);
    }

    @Test
    void invalidUtf8BecomesReplacementCharactersNotAnException() {
        Framer framer = new Framer(Terminator.CR, 64, StandardCharsets.UTF_8, false);
        byte[] garbage = {(byte) 0xFF, (byte) 0xC3, 'A', '\r'};
        framer.feed(garbage, 0, garbage.length, frames::add);
        assertEquals(List.of(text("\uFFFD\uFFFDA")), frames);
    }

    @Test
    void finishFlushesALastLineWithoutTerminator() {
        Framer framer = new Framer(Terminator.CR, 64, StandardCharsets.UTF_8, true);
        feed(framer, "A1\nLAST");
        framer.finish(frames::add);
        assertEquals(List.of(text("A1"), text("LAST")), frames);
    }

    @Test
    void resetForgetsAPartialLine() {
        Framer framer = new Framer(Terminator.CR, 64, StandardCharsets.UTF_8, false);
        feed(framer, "HALF");
        framer.reset();
        feed(framer, "WHOLE\r");
        assertEquals(List.of(text("WHOLE")), frames);
    }

    @Test
    void randomBytesNeverThrowAndNeverYieldAFrameLongerThanMaxLength() {
        Random random = new Random(42);
        for (Terminator terminator : Terminator.values()) {
            for (Charset charset : List.of(StandardCharsets.UTF_8, StandardCharsets.ISO_8859_1)) {
                for (boolean anyLineEnd : new boolean[] {false, true}) {
                    int maxLength = 16 + random.nextInt(64);
                    Framer framer = new Framer(terminator, maxLength, charset, anyLineEnd);
                    List<Frame> out = new ArrayList<>();
                    for (int round = 0; round < 2000; round++) {
                        byte[] chunk = new byte[random.nextInt(300)];
                        random.nextBytes(chunk);
                        framer.feed(chunk, 0, chunk.length, out::add);
                    }
                    framer.finish(out::add);
                    assertTrue(out.size() > 0, "some frames from " + terminator);
                    for (Frame frame : out) {
                        if (frame instanceof Frame.Text t) {
                            assertTrue(!t.text().isEmpty() && t.text().length() <= maxLength,
                                    "frame of " + t.text().length() + " chars, max " + maxLength);
                        } else {
                            assertTrue(((Frame.Overlong) frame).bytes() > maxLength);
                        }
                    }
                }
            }
        }
    }
}
