package app.sevenstamp.autopilot.sink.loyalty;

/** The kinds of ledger line. Stored by name; never renamed. */
public enum LedgerType {
    /** The balance a card had when the ledger was introduced (migration 3). */
    OPENING,
    /** A stamp at a counter (or through the POS API). */
    STAMP,
    /** A reward earned: at a milestone, or when the card is full (then the round's stamps go with it). */
    REWARD,
    /** Stamps of a round that lapsed (stamp expiry). */
    EXPIRE,
    /** A reward spent at the counter. */
    REDEEM,
    /** An event refused by a rule; changes nothing, recorded with its reason. */
    REJECTED,
    /** A manual correction by an operator, with a reason. */
    ADJUST,
    /** An operator's undo of a card's last stamp (and what that stamp earned), with a reason. */
    UNDO,
    /** A voucher was issued (for a reward, or as goodwill); the line names its code. */
    VOUCHER_ISSUED,
    /** A voucher was redeemed; for a reward voucher the card's available rewards go down with it. */
    VOUCHER_REDEEMED,
    /** A redemption taken back (the box cancelled an unanswered request); the voucher is usable again. */
    VOUCHER_REVERSED,
    /** A reward voucher made void because the stamp that earned it was undone; it is expired from then on. */
    VOUCHER_VOIDED
}
