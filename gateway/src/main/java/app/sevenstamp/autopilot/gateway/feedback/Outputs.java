package app.sevenstamp.autopilot.gateway.feedback;

import java.util.Set;

/** Sets the physical outputs: the given ones on, every other one off. */
public interface Outputs extends AutoCloseable {

    void apply(Set<Output> on);

    /** All off, then released. */
    @Override
    void close();
}
