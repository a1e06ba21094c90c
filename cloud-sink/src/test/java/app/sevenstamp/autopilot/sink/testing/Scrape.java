package app.sevenstamp.autopilot.sink.testing;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * A Prometheus text-format page (version 0.0.4) parsed the way a scraper reads it: every sample with its
 * labels and value, and every family's {@code # TYPE}. Strict: a line it cannot read fails the test.
 */
public final class Scrape {
    /** One sample line. */
    public record Sample(String name, Map<String, String> labels, double value) {
    }

    private final List<Sample> samples = new ArrayList<>();
    private final Map<String, String> types = new HashMap<>();

    private Scrape() {
    }

    public static Scrape parse(String text) {
        Scrape s = new Scrape();
        for (String line : text.split("\n")) {
            if (line.isBlank()) {
                continue;
            }
            if (line.startsWith("# TYPE ")) {
                String[] p = line.substring(7).split(" ");
                s.types.put(p[0], p[1]);
            } else if (!line.startsWith("#")) {
                s.samples.add(sample(line));
            }
        }
        return s;
    }

    private static Sample sample(String line) {
        int i = 0;
        while (i < line.length() && line.charAt(i) != '{' && line.charAt(i) != ' ') {
            i++;
        }
        String name = line.substring(0, i);
        Map<String, String> labels = new TreeMap<>();
        if (i < line.length() && line.charAt(i) == '{') {
            i++;
            while (line.charAt(i) != '}') {
                int eq = line.indexOf('=', i);
                String label = line.substring(i, eq);
                if (line.charAt(eq + 1) != '"') {
                    throw new AssertionError("not a label value: " + line);
                }
                StringBuilder v = new StringBuilder();
                int j = eq + 2;
                for (; line.charAt(j) != '"'; j++) {
                    char c = line.charAt(j);
                    if (c == '\\') {
                        char n = line.charAt(++j);
                        v.append(n == 'n' ? '\n' : n);
                    } else {
                        v.append(c);
                    }
                }
                labels.put(label, v.toString());
                i = j + 1;
                if (line.charAt(i) == ',') {
                    i++;
                }
            }
            i++;
        }
        String[] rest = line.substring(i).trim().split(" ");
        String v = rest[0];
        double value = v.equals("+Inf") ? Double.POSITIVE_INFINITY : v.equals("-Inf") ? Double.NEGATIVE_INFINITY
                : Double.parseDouble(v);
        return new Sample(name, labels, value);
    }

    /** The value of the sample with exactly these labels ({@code name, value, name, value...}); fails when absent. */
    public double value(String name, String... labels) {
        Map<String, String> want = new TreeMap<>();
        for (int i = 0; i < labels.length; i += 2) {
            want.put(labels[i], labels[i + 1]);
        }
        for (Sample s : samples) {
            if (s.name.equals(name) && s.labels.equals(want)) {
                return s.value;
            }
        }
        throw new AssertionError("no sample " + name + want + "; samples of that name: " + samples(name));
    }

    public List<Sample> samples(String name) {
        return samples.stream().filter(s -> s.name.equals(name)).toList();
    }

    public List<Sample> samples() {
        return List.copyOf(samples);
    }

    /** The values one label takes in a family's samples. */
    public List<String> labelValues(String name, String label) {
        return samples(name).stream().map(s -> s.labels.get(label)).distinct().toList();
    }

    /**
     * {@code counter}, {@code gauge}, {@code histogram}...; null when the family has no {@code # TYPE}. A counter's
     * {@code # TYPE} line may name it with or without {@code _total}.
     */
    public String type(String family) {
        String t = types.get(family);
        return t != null ? t : types.get(family + "_total");
    }
}
