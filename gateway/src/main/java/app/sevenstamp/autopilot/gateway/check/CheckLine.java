package app.sevenstamp.autopilot.gateway.check;

import java.util.Objects;

/**
 * One finding of {@code autopilot-gateway check}: {@code FAIL gpio line 17 (green LED): in use by 'gpioset'}.
 * A box is ready for a counter when no line is {@link Status#FAIL}.
 *
 * @param subject what was looked at, lower case: {@code board}, {@code gpio line 17 (green LED)}, {@code broker}
 * @param text    what was found and, when something is wrong, what to do
 */
record CheckLine(Status status, String subject, String text) {
    public enum Status { OK, WARN, FAIL }

    public CheckLine {
        Objects.requireNonNull(status, "status");
        Objects.requireNonNull(subject, "subject");
        Objects.requireNonNull(text, "text");
    }

    public static CheckLine ok(String subject, String text) {
        return new CheckLine(Status.OK, subject, text);
    }

    public static CheckLine warn(String subject, String text) {
        return new CheckLine(Status.WARN, subject, text);
    }

    public static CheckLine fail(String subject, String text) {
        return new CheckLine(Status.FAIL, subject, text);
    }

    /** The printed line: the status padded to four characters, so the subjects line up. */
    @Override
    public String toString() {
        return String.format("%-4s %s: %s", status, subject, text);
    }
}
