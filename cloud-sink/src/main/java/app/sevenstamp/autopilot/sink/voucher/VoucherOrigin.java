package app.sevenstamp.autopilot.sink.voucher;

/** Why a voucher exists. Stored by name; never renamed. */
public enum VoucherOrigin {
    /** Earned on a card (one per REWARD ledger line); redeeming it uses up one of the card's rewards. */
    REWARD,
    /** Given by an operator, with a reason; bound to a card or free-standing. */
    GOODWILL
}
