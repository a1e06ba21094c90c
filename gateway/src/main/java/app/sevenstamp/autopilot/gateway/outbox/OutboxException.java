package app.sevenstamp.autopilot.gateway.outbox;

/** The outbox cannot be opened or used. The message says which file and what to do. */
public final class OutboxException extends Exception {
    private static final long serialVersionUID = 1L;

    public OutboxException(String message, Throwable cause) {
        super(message, cause);
    }
}
