package app.sevenstamp.autopilot.gateway.config;

import app.sevenstamp.autopilot.gateway.outbox.OutboxLimits;
import app.sevenstamp.autopilot.protocol.support.ConfigKey;
import app.sevenstamp.autopilot.protocol.support.Settings;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** Reads the {@code outbox.*} keys: where the outbox lives and its limits ({@link OutboxLimits}). */
final class OutboxKeys {
    private OutboxKeys() {
    }

    /** The outbox limits: outbox.maxEvents, maxBytes, minFreeBytes, nearFullPercent. */
    static OutboxLimits limits(Settings s) {
        long maxEvents = s.integer(GatewayKeys.OUTBOX_MAX_EVENTS);
        long maxBytes = bytes(s, GatewayKeys.OUTBOX_MAX_BYTES);
        long minFree = bytes(s, GatewayKeys.OUTBOX_MIN_FREE_BYTES);
        int nearFull = s.integer(GatewayKeys.OUTBOX_NEAR_FULL_PERCENT);
        return new OutboxLimits(maxEvents, maxBytes, minFree, nearFull);
    }

    private static final Pattern SIZE = Pattern.compile("(\\d{1,13})\\s*(B|KB|MB|GB|TB)?");

    /** A size such as {@code 512MB} (binary units: 1 KB = 1024 B) or a plain number of bytes. */
    static long bytes(Settings s, ConfigKey k) {
        String key = k.name();
        long min = parseSize(k.min());
        long max = parseSize(k.max());
        String text = s.string(k).trim();
        Matcher m = SIZE.matcher(text.toUpperCase(Locale.ROOT));
        String allowed = "a size like 512MB, 2GB or 65536 (bytes) between " + min + " and " + max + " bytes";
        if (!m.matches()) {
            throw Settings.bad(key, text, allowed);
        }
        int shift = shift(m.group(2));
        long n = Long.parseLong(m.group(1));
        if (n > (max >> shift) || (n << shift) < min) {
            throw Settings.bad(key, text, allowed);
        }
        return n << shift;
    }

    /** A size as written in the registry ({@code 1MB}, {@code 0}). */
    static long parseSize(String text) {
        Matcher m = SIZE.matcher(text.toUpperCase(Locale.ROOT));
        if (!m.matches()) {
            throw new IllegalArgumentException("not a size: " + text);
        }
        return Long.parseLong(m.group(1)) << shift(m.group(2));
    }

    private static int shift(String unit) {
        return switch (unit == null ? "B" : unit) {
            case "KB" -> 10;
            case "MB" -> 20;
            case "GB" -> 30;
            case "TB" -> 40;
            default -> 0;
        };
    }

    /** {@code outbox.dir}: a directory, or nothing yet (it is created). */
    static Path dir(Settings s) {
        String dir = s.string(GatewayKeys.OUTBOX_DIR);
        Path outboxDir = Path.of(dir);
        if (Files.exists(outboxDir) && !Files.isDirectory(outboxDir)) {
            throw Settings.bad(GatewayKeys.OUTBOX_DIR.name(), dir, "a directory (this is a file)");
        }
        return outboxDir;
    }
}
