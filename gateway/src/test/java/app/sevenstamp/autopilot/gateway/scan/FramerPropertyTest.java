package app.sevenstamp.autopilot.gateway.scan;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** Properties of framing over random input and random chunking, for every terminator and charset. */
class FramerPropertyTest {

    @Test
    void randomBytesNeverCrashAndNeverYieldATextLongerThanMaxLength() {
        Random random = new Random(7);
        for (int run = 0; run < 5000; run++) {
            Terminator terminator = Terminator.values()[random.nextInt(Terminator.values().length)];
            ScanCharset charset = ScanCharset.values()[random.nextInt(2)];
            int max = 1 + random.nextInt(64);
            Framer framer = new Framer(terminator, max, charset.charset(), random.nextBoolean());
            byte[] bytes = new byte[random.nextInt(2000)];
            random.nextBytes(bytes);
            List<Frame> frames = new ArrayList<>();
            int i = 0;
            while (i < bytes.length) {
                int n = Math.min(1 + random.nextInt(50), bytes.length - i);
                framer.feed(bytes, i, n, frames::add);
                i += n;
                if (random.nextInt(10) == 0) {
                    framer.idle(frames::add);
                }
            }
            framer.finish(frames::add);
            for (Frame f : frames) {
                if (f instanceof Frame.Text t) {
                    assertTrue(t.text().length() <= max, t.text().length() + " > " + max);
                    assertTrue(!t.text().isEmpty());
                } else {
                    Frame.Overlong o = (Frame.Overlong) f;
                    assertTrue(o.bytes() > max);
                    assertEquals(max, o.maxLength());
                }
            }
        }
    }

    @Test
    void chunkingNeverChangesTheFrames() {
        Random random = new Random(11);
        for (int run = 0; run < 2000; run++) {
            Terminator terminator = Terminator.values()[random.nextInt(4)]; // NONE ends by time, not by bytes
            StringBuilder text = new StringBuilder();
            for (int i = 0; i < 200; i++) {
                text.append("ab\r\n\t7S.".charAt(random.nextInt(8)));
            }
            byte[] bytes = text.toString().getBytes(StandardCharsets.US_ASCII);
            List<Frame> whole = new ArrayList<>();
            new Framer(terminator, 16, StandardCharsets.UTF_8, false).feed(bytes, 0, bytes.length, whole::add);
            List<Frame> pieces = new ArrayList<>();
            Framer framer = new Framer(terminator, 16, StandardCharsets.UTF_8, false);
            int i = 0;
            while (i < bytes.length) {
                int n = Math.min(1 + random.nextInt(5), bytes.length - i);
                framer.feed(bytes, i, n, pieces::add);
                i += n;
            }
            assertEquals(whole, pieces);
        }
    }

    @Test
    void terminatorNoneEndsAScanOnlyWhenTheLineGoesQuiet() {
        Framer framer = new Framer(Terminator.NONE, 256, StandardCharsets.UTF_8, false);
        List<Frame> frames = new ArrayList<>();
        byte[] a = "7S1.k1\r\n".getBytes(StandardCharsets.US_ASCII);
        byte[] b = ".coffee".getBytes(StandardCharsets.US_ASCII);
        framer.feed(a, 0, a.length, frames::add);
        framer.feed(b, 0, b.length, frames::add);
        assertEquals(List.of(), frames);
        assertTrue(framer.pending());
        framer.idle(frames::add);
        assertEquals(List.of(new Frame.Text("7S1.k1\r\n.coffee")), frames);
        framer.idle(frames::add);
        assertEquals(1, frames.size(), "idle with nothing pending yields nothing");
    }
}
