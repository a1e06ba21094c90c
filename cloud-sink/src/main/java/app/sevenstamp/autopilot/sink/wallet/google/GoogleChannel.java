package app.sevenstamp.autopilot.sink.wallet.google;

import java.net.URI;

/**
 * What the rest of the sink asks of Google Wallet: the update queue calls {@link #cardChanged} after
 * every committed card change, the join page's "Add to Google Wallet" route calls {@link #saveLink}.
 * {@link #OFF} stands in when no Google credentials are configured.
 *
 * <p>Both calls block for the HTTP round trips (rate limit and retries included, up to about a minute);
 * call them from a worker thread, never while holding a database transaction or lock. A
 * {@link GoogleWalletException} means "not done, try again later".
 */
public interface GoogleChannel {
    /** What {@link #cardChanged} did. */
    enum Update {
        /** The pass now shows the card, silently. */
        UPDATED,
        /** The pass now shows the card, and its holder was notified. */
        NOTIFIED,
        /** The card was never saved to Google Wallet (no object): nothing to update. */
        NO_PASS,
        /** Google Wallet is not configured. */
        OFF
    }

    GoogleChannel OFF = new GoogleChannel() {
        @Override
        public boolean enabled() {
            return false;
        }

        @Override
        public Update cardChanged(CardState card, ChangeKind kind) {
            return Update.OFF;
        }

        @Override
        public URI saveLink(CardState card) {
            throw new IllegalStateException("Google Wallet is off: google.issuerId is not set");
        }
    };

    boolean enabled();

    /**
     * Brings the card's pass up to date: stamps as loyaltyPoints ({@code "N / M"}), rewards as
     * secondaryLoyaltyPoints, the barcode the card code. A REWARD or VOUCHER notifies the holder while
     * the card's budget of three a day lasts; anything else is silent.
     *
     * @throws GoogleWalletException when Google could not be reached or refused; retry later
     */
    Update cardChanged(CardState card, ChangeKind kind);

    /**
     * The "Add to Google Wallet" link of the card: inserts its object if it has none yet, then returns
     * {@code https://pay.google.com/gp/v/save/<jwt>}; the JWT names only the object id, so it stays small.
     *
     * @throws GoogleWalletException when the object could not be inserted
     */
    URI saveLink(CardState card);
}
