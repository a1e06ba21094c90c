package app.sevenstamp.autopilot.gateway.support;

/**
 * A monotonic clock, passed in wherever the gateway measures elapsed time, so that tests can drive
 * time by hand. The wall clock ({@link java.time.Clock}) is passed separately: on a Pi without an RTC
 * it jumps at NTP sync, which must not stretch a backoff or a feedback pattern.
 */
@FunctionalInterface
public interface Ticker {

    /**
     * {@link System#nanoTime()}. On Linux HotSpot reads {@code CLOCK_MONOTONIC}, which counts from boot,
     * so values from two runs within one boot are comparable; that is what a stamp event's
     * {@code monotonicNanos} together with its boot id relies on.
     */
    Ticker SYSTEM = System::nanoTime;

    long nanoTime();
}
