package app.sevenstamp.autopilot.sink.store;

/** The database cannot be used. The message is meant for the operator and says what to do. */
public final class StoreException extends RuntimeException {
    public StoreException(String message, Throwable cause) {
        super(message, cause);
    }
}
