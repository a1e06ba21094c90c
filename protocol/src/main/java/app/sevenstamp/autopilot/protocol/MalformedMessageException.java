package app.sevenstamp.autopilot.protocol;

/** A payload that is not a valid message of the wire contract. The text says what is wrong. */
public final class MalformedMessageException extends Exception {
    private final String kind;

    public MalformedMessageException(String kind, String message, Throwable cause) {
        super(message, cause);
        this.kind = kind;
    }

    /** A short, stable category for counting and for logging once per kind: {@code json}, {@code schema}, {@code size}, {@code field}. */
    public String kind() {
        return kind;
    }
}
