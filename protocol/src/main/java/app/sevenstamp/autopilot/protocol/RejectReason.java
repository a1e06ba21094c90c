package app.sevenstamp.autopilot.protocol;

import com.fasterxml.jackson.annotation.JsonEnumDefaultValue;

/** Why a scan or a stamp event was refused. Shared by the gateway (offline check) and the sink. */
public enum RejectReason {
    /** Not a card code at all: wrong shape, bad characters, too long. */
    MALFORMED,
    /** Signed by a key this side does not trust. */
    UNKNOWN_KEY,
    /** The signature does not match: a forged or altered code. */
    BAD_SIGNATURE,
    /** A well-signed code of a program this side does not run. */
    UNKNOWN_PROGRAM,
    /** The same card was stamped too recently. */
    TOO_SOON,
    /** A redeem for a card that has no reward to redeem. */
    NO_REWARD,
    /** The card already has its program's maximum of stamps for the day. Older peers read it as OTHER. */
    DAILY_CAP,
    /**
     * A reason added by a newer peer that this side does not know. Decoding maps any unknown reason
     * here instead of refusing the whole message: an old gateway must still delete the rejected event.
     */
    @JsonEnumDefaultValue
    OTHER
}
