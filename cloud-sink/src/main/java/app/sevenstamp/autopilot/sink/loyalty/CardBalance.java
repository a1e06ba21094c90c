package app.sevenstamp.autopilot.sink.loyalty;

/**
 * What a card holds.
 *
 * @param stamps             stamps in the current round
 * @param rewardsAvailable   rewards earned and not yet redeemed
 * @param rewardsEarnedTotal every reward ever earned, for reporting
 */
public record CardBalance(int stamps, int rewardsAvailable, int rewardsEarnedTotal) {
    public static final CardBalance EMPTY = new CardBalance(0, 0, 0);

    public CardBalance {
        if (stamps < 0 || rewardsAvailable < 0 || rewardsEarnedTotal < 0) {
            throw new IllegalArgumentException("a card balance cannot be negative: " + stamps + "/"
                    + rewardsAvailable + "/" + rewardsEarnedTotal);
        }
    }
}
