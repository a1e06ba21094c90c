package app.sevenstamp.autopilot.gateway.e2e;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * What the shipped unit (systemd/7stamp-gateway.service) gives the JVM and the cgroup: the options between
 * {@code /usr/bin/java} and {@code -jar} in its ExecStart=, and its MemoryHigh= and MemoryMax=. Tests that
 * start the gateway jar as a box would take them from here, so they measure what the .deb ships.
 */
public final class UnitJvmFlags {
    static final Path UNIT = Path.of("..", "systemd", "7stamp-gateway.service");
    private static final Pattern SIZE = Pattern.compile("(\\d+)([KMG])");

    private UnitJvmFlags() {
    }

    /** The JVM options, without the ones that name systemd's directories ({@code ${CACHE_DIRECTORY}}). */
    public static List<String> options() {
        String exec = unit().replace("\\\n", " ").lines().filter(l -> l.startsWith("ExecStart=")).findFirst()
                .orElseThrow(() -> new AssertionError("no ExecStart= in " + UNIT));
        List<String> words = Arrays.asList(exec.substring("ExecStart=".length()).trim().split("\\s+"));
        if (!words.get(0).equals("/usr/bin/java") || !words.contains("-jar")) {
            throw new AssertionError("ExecStart= is not '/usr/bin/java OPTIONS -jar ...': " + exec);
        }
        List<String> options = new ArrayList<>();
        for (String w : words.subList(1, words.indexOf("-jar"))) {
            if (!w.contains("${")) {
                options.add(w);
            }
        }
        return options;
    }

    /** The unit's Environment= assignments ({@code NAME=value}, one per line, no quoting). */
    static java.util.Map<String, String> environment() {
        java.util.Map<String, String> env = new java.util.LinkedHashMap<>();
        unit().lines().filter(l -> l.startsWith("Environment=")).forEach(l -> {
            for (String assignment : l.substring("Environment=".length()).trim().split("\\s+")) {
                int eq = assignment.indexOf('=');
                env.put(assignment.substring(0, eq), assignment.substring(eq + 1));
            }
        });
        return env;
    }

    /** A memory setting of the unit in bytes ({@code MemoryHigh}, {@code MemoryMax}): a number with K, M or G. */
    static long memory(String key) {
        String line = unit().lines().filter(l -> l.startsWith(key + "=")).findFirst()
                .orElseThrow(() -> new AssertionError("no " + key + "= in " + UNIT));
        Matcher m = SIZE.matcher(line.substring(key.length() + 1).trim());
        if (!m.matches()) {
            throw new AssertionError(key + "= in " + UNIT + " is not a number with K, M or G: " + line);
        }
        return Long.parseLong(m.group(1)) << switch (m.group(2)) {
            case "K" -> 10;
            case "M" -> 20;
            default -> 30;
        };
    }

    private static String unit() {
        try {
            return Files.readString(UNIT, StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
