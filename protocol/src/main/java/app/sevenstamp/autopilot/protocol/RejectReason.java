package app.sevenstamp.autopilot.protocol;

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
    TOO_SOON
}
