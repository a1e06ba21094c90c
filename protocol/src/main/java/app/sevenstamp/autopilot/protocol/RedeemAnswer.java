package app.sevenstamp.autopilot.protocol;

import java.time.Instant;
import java.util.Objects;

/**
 * The sink's answer to one {@link RedeemRequest}, on {@code PREFIX/gw/{id}/redeemack} (QoS 1), sent after
 * its transaction committed.
 *
 * @param schema      wire schema version
 * @param requestId   the request it answers
 * @param deviceId    the box that asked
 * @param outcome     what happened
 * @param voucherCode the voucher's canonical text
 * @param title       what the voucher is for ("Free coffee"), for the box's log and display; null when unknown
 * @param posCode     the code the till accepts for this voucher, from the configured pool; only with
 *                    {@link RedeemOutcome#REDEEMED}, null otherwise or when the voucher has none
 * @param validUntil  end of the voucher's validity; null when unknown or unlimited
 */
public record RedeemAnswer(
        int schema,
        String requestId,
        String deviceId,
        RedeemOutcome outcome,
        String voucherCode,
        String title,
        String posCode,
        Instant validUntil) {

    public RedeemAnswer {
        Objects.requireNonNull(requestId, "requestId");
        Objects.requireNonNull(deviceId, "deviceId");
        Objects.requireNonNull(outcome, "outcome");
        Objects.requireNonNull(voucherCode, "voucherCode");
    }
}
