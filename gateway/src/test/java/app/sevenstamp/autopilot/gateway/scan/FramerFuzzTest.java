package app.sevenstamp.autopilot.gateway.scan;

import static org.junit.jupiter.api.Assertions.assertEquals;

import com.code_intelligence.jazzer.api.FuzzedDataProvider;
import com.code_intelligence.jazzer.junit.FuzzTest;
import java.io.ByteArrayOutputStream;
import java.nio.charset.Charset;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Tag;

/**
 * Jazzer target for the scanner framer: any bytes, any chunking, idle timeouts anywhere, every setting. The
 * oracle is a second framer written the plain way (split the whole input at its terminators, then judge each
 * line), which the streaming {@link Framer} must match frame for frame: same texts, same overlong counts.
 */
@Tag("slow")
class FramerFuzzTest {
    private static final byte CR = '\r';
    private static final byte LF = '\n';

    @FuzzTest(maxDuration = "10s")
    void framesMatchThePlainSplitWhateverTheChunking(FuzzedDataProvider data) {
        Terminator terminator = data.pickValue(Terminator.values());
        boolean anyLineEnd = data.consumeBoolean();
        int maxLength = data.consumeInt(1, 40);
        Charset charset = data.pickValue(ScanCharset.values()).charset();
        Framer framer = new Framer(terminator, maxLength, charset, anyLineEnd);
        List<Frame> frames = new ArrayList<>();
        // the input as the reference sees it: each byte, and -1 where the line went quiet
        List<Integer> tokens = new ArrayList<>();
        while (data.remainingBytes() > 0) {
            byte[] chunk = data.consumeBytes(data.consumeInt(1, 64));
            framer.feed(chunk, 0, chunk.length, frames::add);
            for (byte b : chunk) {
                tokens.add(b & 0xFF);
            }
            if (data.consumeInt(0, 7) == 0) {
                framer.idle(frames::add);
                tokens.add(-1);
            }
        }
        framer.finish(frames::add);
        assertEquals(reference(tokens, terminator, anyLineEnd, maxLength, charset), frames, () -> terminator
                + " anyLineEnd=" + anyLineEnd + " maxLength=" + maxLength + " " + charset + ", input (-1: idle): " + tokens);
    }

    private static List<Frame> reference(List<Integer> tokens, Terminator terminator, boolean anyLineEnd, int maxLength,
            Charset charset) {
        List<Frame> out = new ArrayList<>();
        ByteArrayOutputStream line = new ByteArrayOutputStream();
        for (int t : tokens) {
            if (t == -1) {
                emit(line, false, terminator, anyLineEnd, maxLength, charset, out); // a held CR is data then
            } else if (isEnd((byte) t, terminator, anyLineEnd)) {
                emit(line, true, terminator, anyLineEnd, maxLength, charset, out);
            } else {
                line.write(t);
            }
        }
        emit(line, true, terminator, anyLineEnd, maxLength, charset, out);
        return out;
    }

    private static boolean isEnd(byte b, Terminator terminator, boolean anyLineEnd) {
        if (anyLineEnd && (b == CR || b == LF)) {
            return true;
        }
        return switch (terminator) {
            case CR -> b == CR;
            case LF, CRLF -> b == LF;
            case TAB -> b == '\t';
            case NONE -> false;
        };
    }

    private static void emit(ByteArrayOutputStream line, boolean crlfEnds, Terminator terminator, boolean anyLineEnd,
            int maxLength, Charset charset, List<Frame> out) {
        byte[] b = line.toByteArray();
        line.reset();
        int n = b.length;
        if (crlfEnds && terminator == Terminator.CRLF && !anyLineEnd && n > 0 && b[n - 1] == CR) {
            n--; // the CR of CRLF, or one left at the end of input
        }
        if (n > maxLength) {
            out.add(new Frame.Overlong(n, maxLength));
        } else if (n > 0) {
            out.add(new Frame.Text(new String(b, 0, n, charset)));
        }
    }
}
