package app.sevenstamp.autopilot.sink.cli;

/** The command line is wrong; the message says how. Exit status 64 (EX_USAGE). */
final class UsageException extends Exception {
    UsageException(String message) {
        super(message);
    }
}
