package app.sevenstamp.autopilot.gateway.support;

/**
 * The start of a scanned text, safe for a log line: a scanner can send anything, including escape
 * sequences for the operator's terminal and long runs of garbage, and a whole card code in the log
 * is a copy of a customer's card.
 */
public final class Excerpt {
    public static final int MAX_CHARS = 40;

    private Excerpt() {
    }

    /** At most {@value #MAX_CHARS} characters, quoted; anything outside printable ASCII as {@code \\uXXXX}. */
    public static String of(String text) {
        StringBuilder out = new StringBuilder(MAX_CHARS + 24).append('\'');
        int shown = Math.min(text.length(), MAX_CHARS);
        for (int i = 0; i < shown; i++) {
            char c = text.charAt(i);
            switch (c) {
                case '\r' -> out.append("\\r");
                case '\n' -> out.append("\\n");
                case '\t' -> out.append("\\t");
                case '\\' -> out.append("\\\\");
                default -> {
                    if (c >= 0x20 && c < 0x7F) {
                        out.append(c);
                    } else {
                        out.append(String.format("\\u%04X", (int) c));
                    }
                }
            }
        }
        out.append('\'');
        if (text.length() > shown) {
            out.append("... (").append(text.length()).append(" chars)");
        }
        return out.toString();
    }
}
