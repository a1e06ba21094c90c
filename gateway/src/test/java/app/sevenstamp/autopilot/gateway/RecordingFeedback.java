package app.sevenstamp.autopilot.gateway;

import app.sevenstamp.autopilot.gateway.feedback.Feedback;
import app.sevenstamp.autopilot.gateway.feedback.Signal;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Supplier;

/** Records each signal, and what {@code probe} said at the moment the signal was given. */
public final class RecordingFeedback implements Feedback {

    public record Given(Signal signal, String details, Object probed) {
    }

    private final List<Given> given = new CopyOnWriteArrayList<>();
    private final Supplier<Object> probe;
    private volatile boolean closed;

    public RecordingFeedback(Supplier<Object> probe) {
        this.probe = probe;
    }

    public RecordingFeedback() {
        this(() -> null);
    }

    @Override
    public void signal(Signal signal, String details) {
        given.add(new Given(signal, details, probe.get()));
    }

    /** identify, stopIdentify and selfTest are recorded as a signal-less entry with the method's name as details. */
    @Override
    public void identify() {
        given.add(new Given(null, "identify", probe.get()));
    }

    @Override
    public void stopIdentify() {
        given.add(new Given(null, "stopIdentify", probe.get()));
    }

    @Override
    public void selfTest() {
        given.add(new Given(null, "selfTest", probe.get()));
    }

    public List<Given> given() {
        return List.copyOf(given);
    }

    public List<Signal> signals() {
        return given.stream().map(Given::signal).toList();
    }

    public boolean closed() {
        return closed;
    }

    @Override
    public void close() {
        closed = true;
    }
}
