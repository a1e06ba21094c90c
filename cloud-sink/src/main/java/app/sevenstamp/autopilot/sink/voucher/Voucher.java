package app.sevenstamp.autopilot.sink.voucher;

import app.sevenstamp.autopilot.protocol.voucher.VoucherCode;
import java.time.Instant;
import java.util.Objects;

/**
 * One voucher as stored.
 *
 * @param cardId        the card it is bound to; null for a free-standing goodwill voucher
 * @param programId     the card's program; null when free-standing
 * @param location      the only location where it may be redeemed; null for anywhere
 * @param validUntil    end of validity (exclusive); null for no end
 * @param posCode       the code the shop's till accepts for it, from the pool; null when the pool was empty
 * @param issuedBy      {@code operator:<name>}, or the device whose stamp earned it
 * @param reason        the operator's reason (goodwill); null for a reward
 * @param eventId       the stamp event that earned it (reward); null for goodwill
 * @param redeemedBy    the device or {@code pos-<location>} that redeemed it
 * @param redeemRequest the request id that redeemed it (a CANCEL of that request reverses it)
 */
public record Voucher(VoucherCode code, String title, VoucherOrigin origin, String cardId, String programId,
        String location, Instant validFrom, Instant validUntil, String posCode, Instant issuedAt, String issuedBy,
        String reason, String eventId, Instant redeemedAt, String redeemedBy, String redeemRequest) {

    public Voucher {
        Objects.requireNonNull(code, "code");
        Objects.requireNonNull(title, "title");
        Objects.requireNonNull(origin, "origin");
        Objects.requireNonNull(validFrom, "validFrom");
        Objects.requireNonNull(issuedAt, "issuedAt");
        Objects.requireNonNull(issuedBy, "issuedBy");
    }

    /** The state at {@code now}: redeemed wins, then expired, then not yet valid. */
    public VoucherState state(Instant now) {
        if (redeemedAt != null) {
            return VoucherState.REDEEMED;
        }
        if (validUntil != null && !now.isBefore(validUntil)) {
            return VoucherState.EXPIRED;
        }
        return now.isBefore(validFrom) ? VoucherState.ISSUED : VoucherState.ACTIVE;
    }
}
