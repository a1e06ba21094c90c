package app.sevenstamp.autopilot.sink.config;

import java.time.Duration;
import java.util.Objects;

/**
 * What the voucher for a program's reward looks like.
 *
 * @param title    what it is for, shown to staff and customers ("Free coffee")
 * @param validity how long it stays valid after it was earned; zero for no end
 */
public record VoucherPlan(String title, Duration validity) {
    public static final Duration DEFAULT_VALIDITY = Duration.ofDays(90);

    public VoucherPlan {
        Objects.requireNonNull(title, "title");
        Objects.requireNonNull(validity, "validity");
    }
}
