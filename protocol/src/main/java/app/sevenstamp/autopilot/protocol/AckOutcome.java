package app.sevenstamp.autopilot.protocol;

/** What the sink did with one stamp event. */
public enum AckOutcome {
    /** Applied now, in this transaction. */
    ACCEPTED,
    /** Applied earlier: a redelivery, counted once. */
    DUPLICATE,
    /** Refused for the reason in the acknowledgement; never retried by the gateway. */
    REJECTED
}
