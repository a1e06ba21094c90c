package app.sevenstamp.autopilot.protocol.support;

import java.io.IOException;
import java.io.Reader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import java.util.Properties;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;

/**
 * Typed, validated reads from a properties file. Each read records the key as known, so that
 * {@link #rejectUnknownKeys()} can catch a typo ({@code scaner.port}) instead of silently using a default.
 * Not thread-safe: used once, at start, by the code that builds the immutable config record.
 */
public final class Settings {
    private static final Pattern DURATION = Pattern.compile("(\\d{1,9})(ms|s|m|h|d)");

    private final Properties properties;
    private final String source;
    private final TreeSet<String> known = new TreeSet<>();

    public Settings(Properties properties, String source) {
        this.properties = properties;
        this.source = source;
    }

    public static Settings load(Path file) {
        Properties properties = new Properties();
        try (Reader reader = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
            properties.load(reader);
        } catch (NoSuchFileException e) {
            throw new ConfigException("config file " + file + " does not exist");
        } catch (IOException | IllegalArgumentException e) {
            throw new ConfigException("config file " + file + " cannot be read: " + e.getMessage(), e);
        }
        return new Settings(properties, file.toString());
    }

    public String source() {
        return source;
    }

    /** The trimmed value, or the default when the key is absent or blank. */
    public String string(String key, String defaultValue) {
        String value = raw(key);
        return value == null ? defaultValue : value;
    }

    public String required(String key, String what) {
        String value = raw(key);
        if (value == null) {
            throw new ConfigException(key + ": missing; " + what);
        }
        return value;
    }

    public String matching(String key, String defaultValue, Pattern pattern, String allowed) {
        String value = string(key, defaultValue);
        if (value != null && !pattern.matcher(value).matches()) {
            throw bad(key, value, allowed);
        }
        return value;
    }

    public int integer(String key, int defaultValue, int min, int max) {
        String value = raw(key);
        if (value == null) {
            return defaultValue;
        }
        try {
            int n = Integer.parseInt(value);
            if (n >= min && n <= max) {
                return n;
            }
        } catch (NumberFormatException e) {
            // reported below with the allowed range
        }
        throw bad(key, value, "a whole number in " + min + ".." + max);
    }

    public boolean bool(String key, boolean defaultValue) {
        String value = raw(key);
        if (value == null) {
            return defaultValue;
        }
        switch (value.toLowerCase(Locale.ROOT)) {
            case "true": case "yes": case "on": return true;
            case "false": case "no": case "off": return false;
            default: throw bad(key, value, "true or false");
        }
    }

    /** Enum constants are written in lower case with dashes: {@code ACCEPTED_OFFLINE} is {@code accepted-offline}. */
    public <E extends Enum<E>> E choice(String key, E defaultValue, Class<E> type) {
        String value = raw(key);
        if (value == null) {
            return defaultValue;
        }
        for (E constant : type.getEnumConstants()) {
            if (name(constant).equals(value.toLowerCase(Locale.ROOT))) {
                return constant;
            }
        }
        throw bad(key, value, "one of " + Arrays.stream(type.getEnumConstants()).map(Settings::name)
                .collect(Collectors.joining(", ")));
    }

    public static String name(Enum<?> constant) {
        return constant.name().toLowerCase(Locale.ROOT).replace('_', '-');
    }

    /** Durations are written {@code 500ms}, {@code 30s}, {@code 5m}, {@code 1h} or {@code 7d}. */
    public Duration duration(String key, Duration defaultValue, Duration min, Duration max) {
        String value = raw(key);
        if (value == null) {
            return defaultValue;
        }
        String allowed = "a duration like 500ms, 30s, 5m, 1h or 7d, from " + format(min) + " to " + format(max);
        Duration d;
        try {
            d = parseDuration(value);
        } catch (IllegalArgumentException e) {
            throw bad(key, value, allowed);
        }
        if (d.compareTo(min) < 0 || d.compareTo(max) > 0) {
            throw bad(key, value, allowed);
        }
        return d;
    }

    /** {@code 500ms}, {@code 30s}, {@code 5m}, {@code 1h} or {@code 7d}; IllegalArgumentException otherwise. */
    public static Duration parseDuration(String value) {
        Matcher m = DURATION.matcher(value);
        if (!m.matches()) {
            throw new IllegalArgumentException("not a duration: '" + value + "'");
        }
        long n = Long.parseLong(m.group(1));
        return switch (m.group(2)) {
            case "ms" -> Duration.ofMillis(n);
            case "s" -> Duration.ofSeconds(n);
            case "m" -> Duration.ofMinutes(n);
            case "h" -> Duration.ofHours(n);
            default -> Duration.ofDays(n);
        };
    }

    // reads with a registry's key: its default and range come from there (ConfigKey)

    public String string(ConfigKey key) {
        return string(key.name(), key.defaultValue());
    }

    public String matching(ConfigKey key, Pattern pattern, String allowed) {
        return matching(key.name(), key.defaultValue(), pattern, allowed);
    }

    public int integer(ConfigKey key) {
        return integer(key.name(), key.intDefault(), Integer.parseInt(key.min()), Integer.parseInt(key.max()));
    }

    public Duration duration(ConfigKey key) {
        return duration(key.name(), parseDuration(key.defaultValue()), parseDuration(key.min()),
                parseDuration(key.max()));
    }

    public boolean bool(ConfigKey key) {
        return bool(key.name(), Boolean.parseBoolean(key.defaultValue()));
    }

    public <E extends Enum<E>> E choice(ConfigKey key, Class<E> type) {
        if (key.choices() != type) {
            throw new IllegalArgumentException(key.name() + " is a choice of " + key.choices() + ", not " + type);
        }
        E defaultValue = null;
        for (E constant : type.getEnumConstants()) {
            if (name(constant).equals(key.defaultValue())) {
                defaultValue = constant;
            }
        }
        return choice(key.name(), Objects.requireNonNull(defaultValue, key.name()), type);
    }

    /** The keys read or listed so far: what this parser knows (for a test against the registry). */
    public Set<String> knownKeys() {
        return Collections.unmodifiableSet(new TreeSet<>(known));
    }

    /** Comma-separated, blanks dropped; empty when absent. */
    public List<String> list(String key) {
        String value = raw(key);
        List<String> out = new ArrayList<>();
        if (value != null) {
            for (String part : value.split(",")) {
                if (!part.isBlank()) {
                    out.add(part.trim());
                }
            }
        }
        return List.copyOf(out);
    }

    /** Keys under a prefix, as read so far or present in the file; marks them known. */
    public List<String> keysUnder(String prefix) {
        List<String> keys = properties.stringPropertyNames().stream()
                .filter(k -> k.startsWith(prefix)).sorted().collect(Collectors.toList());
        known.addAll(keys);
        return keys;
    }

    /** Call after every read: a key nobody asked for is a typo or a key of another program. */
    public void rejectUnknownKeys() {
        TreeSet<String> unknown = new TreeSet<>(properties.stringPropertyNames());
        unknown.removeAll(known);
        if (!unknown.isEmpty()) {
            throw new ConfigException(source + ": unknown key" + (unknown.size() > 1 ? "s " : " ")
                    + String.join(", ", unknown) + "; known keys are " + String.join(", ", known));
        }
    }

    public static ConfigException bad(String key, String value, String allowed) {
        return new ConfigException(key + ": '" + value + "' is not allowed; allowed: " + allowed);
    }

    private String raw(String key) {
        known.add(key);
        String value = properties.getProperty(key);
        return value == null || value.isBlank() ? null : value.trim();
    }

    private static String format(Duration d) {
        if (d.toMillis() % 1000 != 0) {
            return d.toMillis() + "ms";
        }
        long s = d.getSeconds();
        if (s == 0) {
            return "0s";
        }
        if (s % 86400 == 0) {
            return s / 86400 + "d";
        }
        if (s % 3600 == 0) {
            return s / 3600 + "h";
        }
        return s % 60 == 0 ? s / 60 + "m" : s + "s";
    }
}
