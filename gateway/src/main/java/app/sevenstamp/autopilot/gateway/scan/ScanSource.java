package app.sevenstamp.autopilot.gateway.scan;

/**
 * Where scans come from. A source reads on its own daemon thread and hands each frame to the consumer
 * it was built with, which must not block (the pipeline offers it to a bounded queue).
 */
public interface ScanSource extends AutoCloseable {

    void start();

    /** For the start log line: {@code stdin}, {@code serial /dev/serial/by-id/... 9600 baud}. */
    String describe();

    /** Stops delivering frames; bounded, never waits for a blocked read. */
    @Override
    void close();
}
