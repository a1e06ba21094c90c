package app.sevenstamp.autopilot.gateway.scan;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.code_intelligence.jazzer.api.FuzzedDataProvider;
import com.code_intelligence.jazzer.junit.FuzzTest;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Tag;

/**
 * Jazzer target for the keyboard-scanner decoder: any evdev byte stream (whole or partial structs, any
 * event type, code and value), every layout and struct size. Properties: the reads' chunking never changes
 * the scans; a scan is never empty, never longer than the limit in UTF-8 bytes, and holds only characters a
 * key types (no control character, no NUL from an unmapped key); an overlong line is reported with its size.
 */
@Tag("slow")
class HidDecoderFuzzTest {

    @FuzzTest(maxDuration = "10s")
    void scansAreBoundedPrintableAndIndependentOfChunking(FuzzedDataProvider data) {
        EventSize size = data.pickValue(EventSize.values());
        KeyLayout layout = data.pickValue(KeyLayout.values());
        int maxLength = data.consumeInt(1, 64);
        int[] cuts = new int[data.consumeInt(0, 8)];
        for (int i = 0; i < cuts.length; i++) {
            cuts[i] = data.consumeInt(1, 50);
        }
        byte[] stream = data.consumeRemainingAsBytes();

        List<Frame> whole = new ArrayList<>();
        new HidDecoder(size, layout, maxLength).feed(stream, 0, stream.length, whole::add);

        List<Frame> pieces = new ArrayList<>();
        HidDecoder chunked = new HidDecoder(size, layout, maxLength);
        int at = 0;
        for (int i = 0; at < stream.length; i++) {
            int n = Math.min(cuts.length == 0 ? stream.length : cuts[i % cuts.length], stream.length - at);
            chunked.feed(stream, at, n, pieces::add);
            at += n;
        }
        assertEquals(whole, pieces);

        for (Frame f : whole) {
            if (f instanceof Frame.Text t) {
                int bytes = t.text().getBytes(StandardCharsets.UTF_8).length;
                assertTrue(bytes >= 1 && bytes <= maxLength, "scan of " + bytes + " bytes, limit " + maxLength);
                assertTrue(t.text().chars().allMatch(c -> c >= 0x20 && c != 0x7F), "control character in '" + t.text() + "'");
            } else {
                Frame.Overlong o = (Frame.Overlong) f;
                assertTrue(o.bytes() > maxLength && o.maxLength() == maxLength, o.toString());
            }
        }
    }
}
