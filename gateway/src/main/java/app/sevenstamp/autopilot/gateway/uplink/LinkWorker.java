package app.sevenstamp.autopilot.gateway.uplink;

/**
 * Work that runs on the link's own thread, between its events: the stamp sender and the clock corrector.
 * Everything here is called on that thread only, so a worker's state needs no lock; nothing may block
 * longer than a bounded wait for the outbox.
 */
interface LinkWorker {

    /** The {@code Ticker} time at which {@link #run} has something to do, or {@link Long#MAX_VALUE}. */
    long dueAt(long now);

    /** After every event and every timeout of the link's thread: do what is due. */
    void run(long now);

    /** The connection is up and subscribed (after the features' ready listeners). */
    default void ready() {
    }

    /** The connection went down, or a subscribe failed. */
    default void lost() {
    }
}
