package app.sevenstamp.autopilot.gateway.scan;

import app.sevenstamp.autopilot.gateway.support.Excerpt;
import java.util.Objects;
import java.util.function.Consumer;

/**
 * Removes what a scanner adds around the barcode's text: a configured prefix and suffix
 * ({@code scanner.prefix}, {@code scanner.suffix}, for example STX and ETX), and the AIM symbology
 * identifier ({@code ]Q1} for a QR code, {@code ]C0} for Code 128, {@code ]E0} for EAN-13: a ']' and two
 * characters) that many scanners can be set to send first. Scanners put them in this order: prefix, AIM
 * identifier, data, suffix; each is removed at most once and only when present, so a scanner set up
 * without them still works.
 *
 * <p>A card code starts with {@code 7S}, never with ']', so removing an AIM identifier cannot eat a card.
 * Immutable and thread-safe.
 */
public final class Affixes {
    public static final Affixes NONE = new Affixes("", "", false);

    private final String prefix;
    private final String suffix;
    private final boolean stripAim;

    public Affixes(String prefix, String suffix, boolean stripAim) {
        this.prefix = Objects.requireNonNull(prefix, "prefix");
        this.suffix = Objects.requireNonNull(suffix, "suffix");
        this.stripAim = stripAim;
    }

    public String strip(String text) {
        String t = text;
        if (!prefix.isEmpty() && t.startsWith(prefix)) {
            t = t.substring(prefix.length());
        }
        if (stripAim && t.length() >= 3 && t.charAt(0) == ']' && isAimChar(t.charAt(1)) && isAimChar(t.charAt(2))) {
            t = t.substring(3);
        }
        if (!suffix.isEmpty() && t.endsWith(suffix)) {
            t = t.substring(0, t.length() - suffix.length());
        }
        return t;
    }

    /** Wraps a frame consumer; a text that is empty after stripping (only affixes) yields nothing. */
    public Consumer<Frame> apply(Consumer<Frame> next) {
        Objects.requireNonNull(next, "next");
        if (prefix.isEmpty() && suffix.isEmpty() && !stripAim) {
            return next;
        }
        return frame -> {
            if (frame instanceof Frame.Text text) {
                String stripped = strip(text.text());
                if (!stripped.isEmpty()) {
                    next.accept(new Frame.Text(stripped));
                }
            } else {
                next.accept(frame);
            }
        };
    }

    /** AIM ISO/IEC 15424: the symbology letter and the modifier are printable ASCII, never a space. */
    private static boolean isAimChar(char c) {
        return c > 0x20 && c < 0x7F;
    }

    /**
     * Reads a configured prefix or suffix: printable text with the escapes {@code \t \r \n \\} and
     * {@code \xHH} (so STX is {@code \x02}). Returns null when the escape syntax is wrong.
     */
    public static String unescape(String value) {
        StringBuilder out = new StringBuilder();
        for (int i = 0; i < value.length(); i++) {
            char c = value.charAt(i);
            if (c != '\\') {
                out.append(c);
                continue;
            }
            if (++i >= value.length()) {
                return null;
            }
            char e = value.charAt(i);
            switch (e) {
                case 't' -> out.append('\t');
                case 'r' -> out.append('\r');
                case 'n' -> out.append('\n');
                case '\\' -> out.append('\\');
                case 'x' -> {
                    if (i + 2 >= value.length()) {
                        return null;
                    }
                    int hi = Character.digit(value.charAt(i + 1), 16);
                    int lo = Character.digit(value.charAt(i + 2), 16);
                    if (hi < 0 || lo < 0) {
                        return null;
                    }
                    out.append((char) (hi * 16 + lo));
                    i += 2;
                }
                default -> {
                    return null;
                }
            }
        }
        return out.toString();
    }

    @Override
    public String toString() {
        return "prefix=" + (prefix.isEmpty() ? "none" : Excerpt.of(prefix)) + " suffix="
                + (suffix.isEmpty() ? "none" : Excerpt.of(suffix)) + " aim=" + (stripAim ? "stripped" : "kept");
    }
}
