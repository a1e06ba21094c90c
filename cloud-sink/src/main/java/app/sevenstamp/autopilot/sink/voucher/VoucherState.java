package app.sevenstamp.autopilot.sink.voucher;

/**
 * Where a voucher is in its life. Only {@link #REDEEMED} is stored (as {@code redeemed_at}); the others
 * follow from the validity window and the clock when the voucher is read or redeemed, so a voucher
 * expires on time without a job that updates rows.
 */
public enum VoucherState {
    /** Created, but its validity starts later. */
    ISSUED,
    /** Valid now: can be redeemed. */
    ACTIVE,
    /** Used. */
    REDEEMED,
    /** Its validity ended before it was used. */
    EXPIRED
}
