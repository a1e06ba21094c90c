package app.sevenstamp.autopilot.protocol.voucher;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.code_intelligence.jazzer.junit.FuzzTest;
import java.nio.charset.StandardCharsets;
import java.util.Optional;

/**
 * Jazzer target for voucher code parsing, what a till's URL or a box's scan carries. {@link VoucherCode#parse}
 * never throws; what it accepts is ASCII made of the documented forgiving forms (case, spaces, dashes, O/I/L),
 * routed as a voucher ({@link VoucherCode#looksLikeVoucher}), and normalises to one canonical text that parses
 * back to the same code.
 */
class VoucherCodeFuzzTest {
    static final String CANONICAL = "7V-[0-9A-HJKMNP-TV-Z]{4}(-[0-9A-HJKMNP-TV-Z]{4}){3}";

    @FuzzTest(maxDuration = "10s")
    void parseAcceptsOnlyForgivingFormsOfOneCanonicalText(byte[] scan) {
        String scanned = new String(scan, StandardCharsets.UTF_8);
        Optional<VoucherCode> code = VoucherCode.parse(scanned);
        if (code.isEmpty()) {
            return;
        }
        String text = code.get().text();
        assertTrue(text.matches(CANONICAL), text);
        assertEquals(code, VoucherCode.parse(text));
        assertTrue(VoucherCode.looksLikeVoucher(scanned), "'" + scanned + "' parses as a voucher but is not routed as one");
        assertTrue(scanned.chars().allMatch(c -> c < 0x80), "'" + scanned + "' has non-ASCII characters and parsed as " + text);
        String bare = scanned.strip().replace("-", "").replace(" ", "");
        assertEquals(18, bare.length(), "'" + scanned + "' parsed as " + text);
    }
}
