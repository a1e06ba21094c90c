package app.sevenstamp.autopilot.sink.config;

import app.sevenstamp.autopilot.protocol.support.Settings;
import java.time.Duration;
import java.util.Objects;

/**
 * What the voucher for a program's reward looks like.
 *
 * @param title    what it is for, shown to staff and customers ("Free coffee")
 * @param validity how long it stays valid after it was earned; zero for no end
 */
public record VoucherPlan(String title, Duration validity) {
    public static final Duration DEFAULT_VALIDITY =
            Settings.parseDuration(SinkKeys.PROGRAM_VOUCHER_VALIDITY.defaultValue());

    public VoucherPlan {
        Objects.requireNonNull(title, "title");
        Objects.requireNonNull(validity, "validity");
    }
}
