package app.sevenstamp.autopilot.protocol.testing;

import java.util.ArrayList;
import java.util.Collection;
import java.util.EnumSet;
import java.util.List;
import java.util.Map;
import org.tinylog.Level;
import org.tinylog.core.LogEntry;
import org.tinylog.core.LogEntryValue;
import org.tinylog.writers.Writer;

/**
 * A tinylog writer for tests that keeps the last log lines in memory, so that a test can assert what
 * was logged, and how often. Enable it in a module's {@code tinylog-test.properties}:
 * {@code writer2 = app.sevenstamp.autopilot.protocol.testing.CapturedLog}. Static because tinylog creates
 * the writer itself; bounded; a test calls {@link #clear()} first and matches on its own text.
 */
public final class CapturedLog implements Writer {
    private static final int LIMIT = 10_000;
    private static final List<String> LINES = new ArrayList<>();

    public CapturedLog(Map<String, String> properties) {
    }

    /** The lines kept so far, each as {@code LEVEL message}. */
    public static List<String> lines() {
        synchronized (LINES) {
            return List.copyOf(LINES);
        }
    }

    /** Lines at {@code level} that contain {@code text}. */
    public static List<String> lines(Level level, String text) {
        return lines().stream().filter(l -> l.startsWith(level.name() + " ") && l.contains(text)).toList();
    }

    public static void clear() {
        synchronized (LINES) {
            LINES.clear();
        }
    }

    @Override
    public Collection<LogEntryValue> getRequiredLogEntryValues() {
        return EnumSet.of(LogEntryValue.LEVEL, LogEntryValue.MESSAGE);
    }

    @Override
    public void write(LogEntry entry) {
        synchronized (LINES) {
            if (LINES.size() >= LIMIT) {
                LINES.remove(0);
            }
            LINES.add(entry.getLevel().name() + " " + entry.getMessage());
        }
    }

    @Override
    public void flush() {
    }

    @Override
    public void close() {
    }
}
