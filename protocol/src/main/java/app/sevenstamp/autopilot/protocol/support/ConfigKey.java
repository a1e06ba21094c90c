package app.sevenstamp.autopilot.protocol.support;

import java.util.Arrays;
import java.util.Locale;
import java.util.Objects;
import java.util.stream.Collectors;

/**
 * One configuration key as a program's registry declares it: the one place for its default, its allowed range
 * or values and what it means. The parser reads with it ({@link Settings#integer(ConfigKey)} and the like) and
 * the tables in docs/configuration.md are generated from it ({@link ConfigDocs}), so the two cannot drift apart.
 *
 * <p>{@code defaultValue} is written as in the file ({@code 30s}, {@code 512MB}, {@code stdin}); null means none.
 * {@code min} and {@code max} are written the same way, for the ranged types. {@code allowed} may contain
 * {@code {range}} ({@code min..max}) and {@code {values}} (the choices, quoted); {@code defaultDoc} overrides
 * how the default reads in the docs (for defaults computed at start, "host name, sanitised").
 * A key of type {@link Type#SEE} is no key but a pointer row ({@code scanner.*}) in a docs table.
 *
 * @param remote whether the sink's desired configuration may set it; only the gateway's registry uses it
 */
public record ConfigKey(String name, Type type, String defaultValue, String min, String max, String allowed,
        String meaning, String defaultDoc, Remote remote, Class<? extends Enum<?>> choices) {

    public enum Type { TEXT, CHOICE, INTEGER, DURATION, SIZE, BOOLEAN, SEE }

    /** Whether and how the sink's desired configuration sets a key. */
    public enum Remote {
        /** The sink does not offer it ({@code devices config set} refuses it); the file decides. */
        NO,
        /** Applied by the running program, without a restart. */
        LIVE,
        /** Stored and applied at the next start. */
        RESTART,
        /** The file's alone: the gateway drops it from a desired configuration even when one carries it. */
        IGNORED
    }

    public ConfigKey {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(type, "type");
        Objects.requireNonNull(allowed, name + ": allowed");
        Objects.requireNonNull(meaning, name + ": meaning");
        Objects.requireNonNull(remote, "remote");
        if ((type == Type.INTEGER || type == Type.DURATION || type == Type.SIZE) && (min == null || max == null)) {
            throw new IllegalArgumentException(name + ": a ranged key needs min and max");
        }
        if (type == Type.CHOICE && choices == null) {
            throw new IllegalArgumentException(name + ": a choice needs its enum");
        }
    }

    public static ConfigKey text(String name, String defaultValue, String allowed, String meaning) {
        return new ConfigKey(name, Type.TEXT, defaultValue, null, null, allowed, meaning, null, Remote.NO, null);
    }

    public static ConfigKey integer(String name, int defaultValue, int min, int max, String meaning) {
        return new ConfigKey(name, Type.INTEGER, String.valueOf(defaultValue), String.valueOf(min), String.valueOf(max),
                "{range}", meaning, null, Remote.NO, null);
    }

    public static ConfigKey duration(String name, String defaultValue, String min, String max, String meaning) {
        Settings.parseDuration(defaultValue);
        return new ConfigKey(name, Type.DURATION, defaultValue, min, max, "{range}", meaning, null, Remote.NO, null);
    }

    public static ConfigKey size(String name, String defaultValue, String min, String max, String meaning) {
        return new ConfigKey(name, Type.SIZE, defaultValue, min, max, "{range}", meaning, null, Remote.NO, null);
    }

    public static ConfigKey bool(String name, boolean defaultValue, String meaning) {
        return new ConfigKey(name, Type.BOOLEAN, String.valueOf(defaultValue), null, null, "true, false", meaning, null,
                Remote.NO, null);
    }

    public static <E extends Enum<E>> ConfigKey choice(String name, E defaultValue, String meaning) {
        return new ConfigKey(name, Type.CHOICE, Settings.name(defaultValue), null, null, "{values}", meaning, null,
                Remote.NO, defaultValue.getDeclaringClass());
    }

    /** A pointer row in a docs table, such as {@code scanner.*}: see another table or page. */
    public static ConfigKey see(String pattern, String meaning) {
        return new ConfigKey(pattern, Type.SEE, null, null, null, "", meaning, "", Remote.NO, null);
    }

    public ConfigKey allowed(String text) {
        return new ConfigKey(name, type, defaultValue, min, max, text, meaning, defaultDoc, remote, choices);
    }

    public ConfigKey defaultDoc(String text) {
        return new ConfigKey(name, type, defaultValue, min, max, allowed, meaning, text, remote, choices);
    }

    /** The same key under another name: a program's key ({@code program.coffee.cooldown}) from its pattern. */
    public ConfigKey named(String otherName) {
        return new ConfigKey(otherName, type, defaultValue, min, max, allowed, meaning, defaultDoc, remote, choices);
    }

    public ConfigKey remote(Remote how) {
        return new ConfigKey(name, type, defaultValue, min, max, allowed, meaning, defaultDoc, how, choices);
    }

    /** Whether this is a real key (not a pointer row). */
    public boolean isKey() {
        return type != Type.SEE;
    }

    /** The default as an int; only for {@link Type#INTEGER}. */
    public int intDefault() {
        return Integer.parseInt(defaultValue);
    }

    /** The default as docs show it. */
    public String defaultText() {
        if (defaultDoc != null) {
            return defaultDoc;
        }
        if (defaultValue == null) {
            return "(none)";
        }
        return type == Type.TEXT || type == Type.CHOICE ? "`" + defaultValue + "`" : defaultValue;
    }

    /** What is allowed, as docs show it. */
    public String allowedText() {
        String values = choices == null ? ""
                : Arrays.stream(choices.getEnumConstants()).map(c -> "`" + Settings.name(c) + "`")
                        .collect(Collectors.joining(", "));
        return allowed.replace("{range}", min + ".." + max).replace("{values}", values);
    }

    @Override
    public String toString() {
        return name + " (" + type.name().toLowerCase(Locale.ROOT) + ", default " + defaultValue + ")";
    }
}
