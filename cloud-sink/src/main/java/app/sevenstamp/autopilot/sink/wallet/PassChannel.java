package app.sevenstamp.autopilot.sink.wallet;

/**
 * One kind of wallet pass that must follow its card: Apple Wallet (push to the phones, which then fetch
 * the pass), Google Wallet (patch the object). {@link PassUpdates} calls it after a card changed, at
 * least once per committed change and coalesced per card, from its one dispatcher thread.
 */
public interface PassChannel {
    /** A short stable name, stored with each pending update ({@code apple}, {@code google}); at most 16 characters. */
    String name();

    /**
     * Brings the card's pass up to date. Returning means done; throwing means "try again later" (with
     * backoff): the update stays pending. A card without a pass of this channel is done at once.
     */
    void cardChanged(CardState card) throws Exception;
}
