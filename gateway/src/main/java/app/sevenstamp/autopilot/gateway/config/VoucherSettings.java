package app.sevenstamp.autopilot.gateway.config;

import app.sevenstamp.autopilot.protocol.support.Settings;
import java.time.Duration;
import java.util.Objects;

/**
 * The gateway's {@code vouchers.*} key.
 *
 * @param answerTimeout how long a scanned voucher waits for the sink's answer before "cannot check now"
 */
public record VoucherSettings(Duration answerTimeout) {
    public VoucherSettings {
        Objects.requireNonNull(answerTimeout, "answerTimeout");
    }

    static VoucherSettings read(Settings s) {
        return new VoucherSettings(s.duration(GatewayKeys.VOUCHERS_ANSWER_TIMEOUT));
    }
}
