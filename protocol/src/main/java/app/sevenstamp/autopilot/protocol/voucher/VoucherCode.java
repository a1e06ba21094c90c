package app.sevenstamp.autopilot.protocol.voucher;

import java.security.SecureRandom;
import java.util.Locale;
import java.util.Objects;
import java.util.Optional;

/**
 * The code printed on a voucher (as text, QR and Code128) and scanned at the counter to redeem it.
 *
 * <p>Form: {@code 7V-XXXX-XXXX-XXXX-XXXX}: the prefix, then 15 random characters of Crockford's
 * base32 (75 bits, so codes cannot be guessed) and one check character over them. Crockford's alphabet
 * has no I, L, O or U, so a code read out loud or typed by staff survives the usual confusions:
 * parsing maps I and L to 1 and O to 0, ignores case, spaces and dashes (in ASCII only). The check character lets the
 * box refuse a mistyped or damaged code offline, without a round trip, as {@code MALFORMED}.
 *
 * <p>A voucher code carries no meaning beyond identity: whether it is valid, for what, and until when
 * lives only in the sink, which is why a voucher is always checked online.
 */
public final class VoucherCode {
    /** What every voucher code starts with; a card code starts with {@code 7S1.}, so the two never collide. */
    public static final String PREFIX = "7V";
    static final String ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
    static final int RANDOM_CHARS = 15;

    private final String body; // 16 characters: 15 random + 1 check, canonical alphabet

    private VoucherCode(String body) {
        this.body = body;
    }

    /** A new random code. */
    public static VoucherCode random(SecureRandom random) {
        Objects.requireNonNull(random, "random");
        StringBuilder b = new StringBuilder(RANDOM_CHARS + 1);
        for (int i = 0; i < RANDOM_CHARS; i++) {
            b.append(ALPHABET.charAt(random.nextInt(32)));
        }
        b.append(ALPHABET.charAt(check(b)));
        return new VoucherCode(b.toString());
    }

    /**
     * Whether a scan is meant as a voucher (it starts with the prefix), valid or not. The box routes such a
     * scan to redemption, so that a damaged voucher is reported as a bad voucher, not as a bad loyalty card.
     */
    public static boolean looksLikeVoucher(String scanned) {
        if (scanned == null) {
            return false;
        }
        String t = scanned.strip();
        return t.length() >= PREFIX.length() && t.substring(0, PREFIX.length()).toUpperCase(Locale.ROOT).equals(PREFIX);
    }

    /** The code in {@code scanned}, or empty when it is not a well-formed voucher code with a correct check character. */
    public static Optional<VoucherCode> parse(String scanned) {
        if (scanned == null || scanned.length() > 64) {
            return Optional.empty();
        }
        // ASCII before upper-casing: Java upper-cases some other letters to ASCII ones (dotless i to I, long s
        // to S), which made non-ASCII scans into vouchers (found by VoucherCodeFuzzTest).
        for (int i = 0; i < scanned.length(); i++) {
            if (scanned.charAt(i) > 0x7F) {
                return Optional.empty();
            }
        }
        String t = scanned.strip().toUpperCase(Locale.ROOT);
        if (!t.startsWith(PREFIX)) {
            return Optional.empty();
        }
        StringBuilder b = new StringBuilder(RANDOM_CHARS + 1);
        for (int i = PREFIX.length(); i < t.length(); i++) {
            char c = t.charAt(i);
            if (c == '-' || c == ' ') {
                continue;
            }
            c = switch (c) {
                case 'O' -> '0';
                case 'I', 'L' -> '1';
                default -> c;
            };
            if (ALPHABET.indexOf(c) < 0) {
                return Optional.empty();
            }
            b.append(c);
        }
        if (b.length() != RANDOM_CHARS + 1 || ALPHABET.charAt(check(b.subSequence(0, RANDOM_CHARS))) != b.charAt(RANDOM_CHARS)) {
            return Optional.empty();
        }
        return Optional.of(new VoucherCode(b.toString()));
    }

    /** The canonical printed form, {@code 7V-XXXX-XXXX-XXXX-XXXX}; also what QR and Code128 carry. */
    public String text() {
        return PREFIX + "-" + body.substring(0, 4) + "-" + body.substring(4, 8) + "-" + body.substring(8, 12)
                + "-" + body.substring(12, 16);
    }

    /**
     * Weighted sum modulo 31, a prime (weights 1..15): catches every single wrong character and every swap
     * of two neighbouring characters, the two mistakes people make when typing a code, except the one pair
     * whose values differ by exactly 31 (0 and Z).
     */
    private static int check(CharSequence random) {
        int sum = 0;
        for (int i = 0; i < RANDOM_CHARS; i++) {
            sum += (i + 1) * ALPHABET.indexOf(random.charAt(i));
        }
        return Math.floorMod(sum, 31);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof VoucherCode v && v.body.equals(body);
    }

    @Override
    public int hashCode() {
        return body.hashCode();
    }

    @Override
    public String toString() {
        return text();
    }
}
