package app.sevenstamp.autopilot.protocol.support;

import java.util.List;
import java.util.Map;

/**
 * The key tables of docs/configuration.md, generated from a program's registry of {@link ConfigKey}s. Each table
 * sits between {@code <!-- generated: NAME -->} and {@code <!-- end: NAME -->}; the text around it is written by
 * hand. A test in each module compares the file with {@link #regenerate} and can write it.
 */
public final class ConfigDocs {
    private ConfigDocs() {
    }

    /** A table of {@code key | default | allowed | meaning}, one row per key, in the registry's order. */
    public static String table(List<ConfigKey> keys) {
        StringBuilder b = new StringBuilder("| key | default | allowed | meaning |\n| --- | --- | --- | --- |\n");
        for (ConfigKey k : keys) {
            b.append("| `").append(k.name()).append("` | ").append(cell(k.defaultText())).append(" | ")
                    .append(cell(k.allowedText())).append(" | ").append(cell(k.meaning())).append(" |\n");
        }
        return b.toString();
    }

    private static String cell(String text) {
        return text.replace("|", "\\|").replace("\n", " ").strip();
    }

    /** Where {@code doc} first differs from {@code generated}, for a test's message; null when they are equal. */
    public static String firstDifference(String doc, String generated) {
        String[] a = doc.split("\n", -1);
        String[] b = generated.split("\n", -1);
        for (int i = 0; i < Math.max(a.length, b.length); i++) {
            String has = i < a.length ? a[i] : "(end of file)";
            String wants = i < b.length ? b[i] : "(end of file)";
            if (!has.equals(wants)) {
                return "line " + (i + 1) + " is\n  " + has + "\nbut the registry makes it\n  " + wants;
            }
        }
        return null;
    }

    public static String begin(String block) {
        return "<!-- generated: " + block + " -->\n";
    }

    public static String end(String block) {
        return "<!-- end: " + block + " -->";
    }

    /**
     * {@code doc} with each named block's content replaced by the given text.
     *
     * @throws IllegalArgumentException when a block's markers are missing
     */
    public static String regenerate(String doc, Map<String, String> blocks) {
        String out = doc;
        for (Map.Entry<String, String> e : blocks.entrySet()) {
            String begin = begin(e.getKey());
            String end = end(e.getKey());
            int from = out.indexOf(begin);
            int to = out.indexOf(end);
            if (from < 0 || to < from) {
                throw new IllegalArgumentException("no '" + begin.strip() + "' ... '" + end + "' block in the document");
            }
            out = out.substring(0, from + begin.length()) + e.getValue() + out.substring(to);
        }
        return out;
    }
}
