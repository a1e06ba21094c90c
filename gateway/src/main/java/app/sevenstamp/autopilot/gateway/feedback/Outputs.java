package app.sevenstamp.autopilot.gateway.feedback;

/** The physical outputs: shows one light and plays one tone (0 = silence) until told otherwise. */
interface Outputs extends AutoCloseable {

    void show(Light light, int toneHz);

    /** All off, then released. Idempotent. */
    @Override
    void close();
}
