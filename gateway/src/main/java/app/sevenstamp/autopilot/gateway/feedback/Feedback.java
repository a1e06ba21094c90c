package app.sevenstamp.autopilot.gateway.feedback;

/**
 * Light, sound or a console line for each signal. {@link #signal} never blocks the caller for longer
 * than writing one line: a scan must not wait for a pattern to finish, and a newer signal preempts
 * the pattern that is playing. Thread-safe.
 */
public interface Feedback extends AutoCloseable {

    /** @param details words after the signal, e.g. {@code card=ABCDEFGHJKMNPQRS program=coffee seq=3} */
    void signal(Signal signal, String details);

    /**
     * Fleet "identify" command: make this box noticeable at the counter. Minimal default (a distinct
     * signal); the feedback implementations may play a dedicated pattern instead.
     */
    default void identify(String details) {
        signal(Signal.REWARD_DUE, "IDENTIFY " + details);
    }

    /** Fleet "self-test" command: exercise the outputs; returns what was done. Minimal default. */
    default String selfTest() {
        signal(Signal.ACCEPTED, "SELF-TEST");
        return "feedback: played the ACCEPTED signal";
    }

    /** Turns every output off and releases it. */
    @Override
    void close();
}
