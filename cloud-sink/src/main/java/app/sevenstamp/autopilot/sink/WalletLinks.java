package app.sevenstamp.autopilot.sink;

import app.sevenstamp.autopilot.sink.cards.SigningKey;
import app.sevenstamp.autopilot.sink.join.WalletOffers;
import app.sevenstamp.autopilot.sink.wallet.apple.AppleWallet;
import app.sevenstamp.autopilot.sink.wallet.google.GoogleChannel;
import app.sevenstamp.autopilot.sink.wallet.google.GoogleSaveRoute;

/**
 * The join page's wallet buttons: a channel is offered only when it is configured, and its link
 * carries that channel's own per-card token, so a card id alone opens nothing.
 */
final class WalletLinks implements WalletOffers {
    private final boolean google;
    private final byte[] googleLinkKey;
    private final boolean apple;
    private final SigningKey key;

    /**
     * @param googleLinkKey the Google save route's HMAC key ({@code GoogleWalletSetup.LINK_PURPOSE})
     * @param apple         whether Apple Wallet passes are configured
     * @param key           the card signing key, from which the Apple download links' key is derived
     */
    public WalletLinks(GoogleChannel google, byte[] googleLinkKey, boolean apple, SigningKey key) {
        this.google = google != GoogleChannel.OFF;
        this.googleLinkKey = googleLinkKey.clone();
        this.apple = apple;
        this.key = key;
    }

    @Override
    public boolean offers(Channel channel) {
        return channel == Channel.GOOGLE ? google : apple;
    }

    @Override
    public String link(Channel channel, String cardId, String programId, String linkToken) {
        return channel == Channel.GOOGLE ? GoogleSaveRoute.path(googleLinkKey, programId, cardId)
                : AppleWallet.downloadPath(key, programId, cardId);
    }
}
