package app.sevenstamp.autopilot.protocol;

import java.time.Instant;
import java.util.Objects;

/**
 * A counter box asks the sink to redeem a scanned voucher, on {@code PREFIX/gw/{id}/redeem} (QoS 1).
 * Redemption is always online: the box never stores one for later.
 *
 * <p>The box waits a bounded time for the {@link RedeemAnswer}. When none comes it tells staff "cannot
 * check now" and sends the same request id again with {@link Action#CANCEL}. The sink then reverses the
 * redemption if it had made one, and refuses a REDEEM that arrives after the CANCEL, so what the counter
 * was told is what the sink keeps: no voucher is used up without the counter having seen it accepted.
 *
 * @param schema      wire schema version
 * @param requestId   unique per scan (UUIDv7); the sink answers and deduplicates on it. It stays tied to
 *                    the voucher and device it was first seen with: the same id for another voucher or
 *                    from another device is answered {@link RedeemOutcome#OTHER} and changes nothing
 * @param deviceId    the box that scanned
 * @param action      redeem, or cancel an unanswered redeem
 * @param voucherCode the voucher's canonical text ({@code VoucherCode.text()})
 * @param location    where the box stands
 * @param deviceTime  the box's wall-clock time at the scan
 */
public record RedeemRequest(
        int schema,
        String requestId,
        String deviceId,
        Action action,
        String voucherCode,
        String location,
        Instant deviceTime) {

    public enum Action {
        REDEEM,
        CANCEL
    }

    public RedeemRequest {
        Objects.requireNonNull(requestId, "requestId");
        Objects.requireNonNull(deviceId, "deviceId");
        Objects.requireNonNull(action, "action");
        Objects.requireNonNull(voucherCode, "voucherCode");
        Objects.requireNonNull(location, "location");
        Objects.requireNonNull(deviceTime, "deviceTime");
    }
}
