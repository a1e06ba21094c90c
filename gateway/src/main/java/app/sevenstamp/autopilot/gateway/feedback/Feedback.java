package app.sevenstamp.autopilot.gateway.feedback;

/**
 * Light, sound or a console line for each signal. {@link #signal} never blocks the caller for longer
 * than writing one line: a scan must not wait for a pattern to finish, and a newer signal preempts
 * the pattern that is playing. Thread-safe.
 */
public interface Feedback extends AutoCloseable {

    /** @param details words after the signal, e.g. {@code card=ABCDEFGHJKMNPQRS program=coffee seq=3} */
    void signal(Signal signal, String details);

    /** Turns every output off and releases it. */
    @Override
    void close();
}
