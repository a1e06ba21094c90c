package app.sevenstamp.autopilot.gateway.feedback;

import java.io.PrintStream;
import java.util.Objects;
import org.tinylog.Logger;

/**
 * Feedback as one line per signal on standard output, the line starting with the signal's name:
 * {@code ACCEPTED card=ABCDEFGHJKMNPQRS program=coffee seq=3}. Scripts and tests read these lines, so
 * colour and the terminal bell are added only for a person at a terminal. The gateway logs to stderr;
 * stdout carries nothing but these lines.
 *
 * <p>Writes happen on the caller's thread: one short line to a terminal, a pipe or journald does not
 * hold up a scan, and it keeps the lines in the order of the signals.
 */
public final class ConsoleFeedback implements Feedback {
    private static final String BELL = "\u0007";
    private static final String RESET = "\u001B[0m";

    private final PrintStream out;
    private final boolean terminal;

    /** @param terminal add ANSI colour and the bell; true when {@code System.console() != null} */
    public ConsoleFeedback(PrintStream out, boolean terminal) {
        this.out = Objects.requireNonNull(out, "out");
        this.terminal = terminal;
    }

    @Override
    public void signal(Signal signal, String details) {
        String line = details == null || details.isEmpty() ? signal.name() : signal.name() + " " + details;
        if (terminal) {
            line = colour(signal) + line + RESET + (bell(signal) ? BELL : "");
        }
        // PrintStream.println is atomic on its own; no lock of ours is held across the write
        out.println(line);
        out.flush();
    }

    private static String colour(Signal signal) {
        return switch (signal) {
            case ACCEPTED, ACCEPTED_OFFLINE, VOUCHER_OK -> "\u001B[32m";
            case REWARD_DUE, TOO_SOON, CANNOT_CHECK -> "\u001B[33m";
            case REJECTED, SCANNER_LOST, STORAGE_FAULT, STORAGE_NEAR_FULL -> "\u001B[31m";
        };
    }

    private static boolean bell(Signal signal) {
        return signal != Signal.REWARD_DUE;
    }

    /** A line, so that a person at a terminal sees the request; the 60 s limit is the hardware's to keep. */
    @Override
    public void identify() {
        out.println("IDENTIFY on for=" + Patterns.IDENTIFY_LIMIT.toSeconds() + "s");
        out.flush();
    }

    @Override
    public void stopIdentify() {
        out.println("IDENTIFY off");
        out.flush();
    }

    /**
     * Nothing to show: a terminal has no lamp or buzzer to check, and stdout carries only scan outcomes
     * (scripts read its first line as the first scan's), so this goes to the log.
     */
    @Override
    public void selfTest() {
        Logger.info("self-test: console feedback, no LED or buzzer to test");
    }

    @Override
    public void close() {
        out.flush();
    }
}
