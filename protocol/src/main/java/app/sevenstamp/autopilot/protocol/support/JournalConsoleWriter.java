package app.sevenstamp.autopilot.protocol.support;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.tinylog.Level;
import org.tinylog.core.LogEntry;
import org.tinylog.writers.AbstractFormatPatternWriter;

/**
 * A tinylog writer for stderr that, when stderr is connected to the journal, starts each line with
 * its syslog priority ({@code <3>} error, {@code <4>} warn, {@code <6>} info, {@code <7>} debug and
 * trace) so that {@code journalctl -p warning} and the colours work. tinylog's {@code {level-code}}
 * numbers levels its own way (1 error .. 5 trace), not as syslog does, hence this writer.
 *
 * <p>Journal detection as sd_journal_stream_fd(3) describes: {@code JOURNAL_STREAM} holds
 * {@code device:inode} of the stream systemd connected, and it must be our stderr (a child started
 * from a service inherits the variable with another stderr). Setting {@code journal = true} or
 * {@code false} in the writer's properties overrides the detection; the default is {@code auto}.
 *
 * <p>Properties: {@code format} (as tinylog's console writer), {@code journal}. Every line of a
 * multi-line entry (a stack trace) gets the prefix, as journald reads the stream line by line.
 * Thread-safety: tinylog calls {@link #write} from one thread at a time (writingthread or its lock).
 */
public final class JournalConsoleWriter extends AbstractFormatPatternWriter {
    private final PrintStream err = System.err;
    private final boolean journal;

    public JournalConsoleWriter() {
        this(Map.of());
    }

    public JournalConsoleWriter(Map<String, String> properties) {
        super(properties);
        String mode = properties.getOrDefault("journal", "auto").trim();
        journal = switch (mode) {
            case "true" -> true;
            case "false" -> false;
            default -> stderrIsJournal(System.getenv("JOURNAL_STREAM"), Path.of("/proc/self/fd/2"));
        };
    }

    @Override
    public void write(LogEntry logEntry) {
        String text = render(logEntry);
        err.print(journal ? prefixed(logEntry.getLevel(), text) : text);
    }

    @Override
    public void flush() {
        err.flush();
    }

    @Override
    public void close() {
        err.flush();
    }

    /**
     * {@code message} for stderr as an error line: with {@code <3>} when stderr is the journal. For what a
     * main method prints itself before it exits (a configuration error), which would otherwise reach the
     * journal at the stream's default priority, info.
     */
    public static String errorLine(String message) {
        return stderrIsJournal(System.getenv("JOURNAL_STREAM"), Path.of("/proc/self/fd/2")) ? prefixed(Level.ERROR, message) : message;
    }

    /** The syslog priority journald understands (sd-daemon(3)). */
    static int priority(Level level) {
        return switch (level) {
            case ERROR -> 3;
            case WARN -> 4;
            case INFO -> 6;
            default -> 7;
        };
    }

    /** Every line of {@code rendered} with the level's {@code <N>}; line ends kept as they are. */
    static String prefixed(Level level, String rendered) {
        String prefix = "<" + priority(level) + ">";
        StringBuilder out = new StringBuilder(rendered.length() + 8);
        int start = 0;
        while (start < rendered.length()) {
            int end = rendered.indexOf('\n', start);
            end = end < 0 ? rendered.length() : end + 1;
            out.append(prefix).append(rendered, start, end);
            start = end;
        }
        return out.toString();
    }

    /**
     * Whether {@code journalStream} ({@code JOURNAL_STREAM}) names the file that {@code stderr} is; when
     * the file cannot be inspected, trust the variable.
     */
    static boolean stderrIsJournal(String journalStream, Path stderr) {
        if (journalStream == null || !journalStream.matches("\\d+:\\d+")) {
            return false;
        }
        try {
            Map<String, Object> attributes = Files.readAttributes(stderr, "unix:dev,ino");
            String actual = attributes.get("dev") + ":" + attributes.get("ino");
            return actual.equals(journalStream);
        } catch (IOException | UnsupportedOperationException | IllegalArgumentException | SecurityException e) {
            return true;
        }
    }
}
