package app.sevenstamp.autopilot.protocol;

import com.fasterxml.jackson.annotation.JsonEnumDefaultValue;

/** What the sink did with one {@link RedeemRequest}. Only {@link #REDEEMED} means "hand over the reward". */
public enum RedeemOutcome {
    /** Redeemed now, by this request (or a redelivery of it). */
    REDEEMED,
    /** The voucher was redeemed before, by another request. */
    ALREADY_REDEEMED,
    /** The voucher's validity ended. */
    EXPIRED,
    /** The voucher exists but is not valid yet (issued, not active). */
    NOT_ACTIVE,
    /** No voucher has this code. */
    UNKNOWN,
    /** The voucher is bound to another location or program than this counter's. */
    WRONG_LOCATION,
    /** The answer to a CANCEL: nothing is redeemed by this request (any redemption it made was reversed). */
    CANCELLED,
    /** An outcome added by a newer sink; the box treats it as a refusal. */
    @JsonEnumDefaultValue
    OTHER
}
