package app.sevenstamp.autopilot.gateway.scan;

import java.util.Objects;

/** One scan as the framer cut it from the scanner's byte stream. */
public sealed interface Frame {

    /** A line of at most {@code scanner.maxLength} bytes, decoded; the terminator is not part of it. */
    record Text(String text) implements Frame {
        public Text {
            Objects.requireNonNull(text, "text");
        }
    }

    /** A line longer than {@code scanner.maxLength}: discarded up to its terminator, reported once. */
    record Overlong(long bytes, int maxLength) implements Frame {
    }
}
