package app.sevenstamp.autopilot.protocol;

/** What a scan at the counter asks for. */
public enum EventKind {
    /** A visit: add a stamp to the card. */
    STAMP,
    /** A voucher or reward presented for redemption (checked online by the sink). */
    REDEEM
}
