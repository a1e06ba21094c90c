package app.sevenstamp.autopilot.gateway.outbox;

/**
 * An append was refused because the outbox reached one of its {@link OutboxLimits}. Nothing was stored;
 * the customer gets STORAGE_FAULT. The message names the limit, the numbers and what to do.
 */
public final class OutboxFullException extends Exception {
    private static final long serialVersionUID = 1L;

    public OutboxFullException(String message) {
        super(message);
    }
}
