package app.sevenstamp.autopilot.gateway;

import app.sevenstamp.autopilot.gateway.outbox.StampDraft;
import app.sevenstamp.autopilot.gateway.policy.Decision;
import app.sevenstamp.autopilot.gateway.support.Ticker;
import app.sevenstamp.autopilot.protocol.EventIds;
import app.sevenstamp.autopilot.protocol.EventKind;
import java.time.Clock;
import java.time.Instant;
import java.util.Objects;
import java.util.function.BooleanSupplier;

/**
 * Turns an accepted scan into a stamp event. Records the three clocks the sink needs to place a scan
 * in time on a Pi without an RTC: wall time (maybe wrong before NTP sync, flagged by
 * {@code clockSynced}), monotonic time, and the boot id that scopes it. Thread-safe.
 */
public final class StampFactory {
    private final String deviceId;
    private final String location;
    private final Clock clock;
    private final Ticker ticker;
    private final String bootId;
    private final BooleanSupplier clockSynced;

    public StampFactory(String deviceId, String location, Clock clock, Ticker ticker, String bootId,
            BooleanSupplier clockSynced) {
        this.deviceId = Objects.requireNonNull(deviceId, "deviceId");
        this.location = Objects.requireNonNull(location, "location");
        this.clock = Objects.requireNonNull(clock, "clock");
        this.ticker = Objects.requireNonNull(ticker, "ticker");
        this.bootId = Objects.requireNonNull(bootId, "bootId");
        this.clockSynced = Objects.requireNonNull(clockSynced, "clockSynced");
    }

    public StampDraft draft(Decision.Accept accept) {
        Instant now = clock.instant();
        return new StampDraft(EventIds.next(now.toEpochMilli()), deviceId, accept.code(), accept.card().programId(),
                accept.card().cardId(), location, now, ticker.nanoTime(), bootId, clockSynced.getAsBoolean(),
                EventKind.STAMP);
    }
}
