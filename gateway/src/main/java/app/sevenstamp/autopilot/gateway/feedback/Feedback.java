package app.sevenstamp.autopilot.gateway.feedback;

/**
 * Light, sound or a console line for each signal. No method blocks the caller for longer than writing one
 * line: a scan must not wait for a pattern to finish, and a newer signal preempts the pattern that is
 * playing. Thread-safe.
 */
public interface Feedback extends AutoCloseable {

    /** @param details words after the signal, e.g. {@code card=ABCDEFGHJKMNPQRS program=coffee seq=3} */
    void signal(Signal signal, String details);

    /**
     * Starts blinking so that someone at the shop can find this box (a remote command asks for it). It goes
     * on until {@link #stopIdentify} or for {@link Patterns#IDENTIFY_LIMIT}; a scan's pattern plays over it
     * and identify resumes after. Calling it again restarts the 60 s.
     */
    void identify();

    /** Ends identify at once; nothing happens when it is not running. */
    void stopIdentify();

    /** Shows every output once, so a person at the box sees and hears that each works; at daemon start. */
    void selfTest();

    /** Turns every output off and releases it. Idempotent. */
    @Override
    void close();
}
