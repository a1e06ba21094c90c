package app.sevenstamp.autopilot.sink.wallet;

import app.sevenstamp.autopilot.sink.join.WalletOffers;
import app.sevenstamp.autopilot.sink.wallet.google.GoogleChannel;
import app.sevenstamp.autopilot.sink.wallet.google.GoogleSaveRoute;

/**
 * The join page's wallet buttons: a channel is offered only when it is configured, and its link
 * carries that channel's own per-card token, so a card id alone opens nothing.
 */
public final class WalletLinks implements WalletOffers {
    private final boolean google;
    private final byte[] googleLinkKey;

    /** @param googleLinkKey the Google save route's HMAC key ({@code GoogleWalletSetup.LINK_PURPOSE}) */
    public WalletLinks(GoogleChannel google, byte[] googleLinkKey) {
        this.google = google != GoogleChannel.OFF;
        this.googleLinkKey = googleLinkKey.clone();
    }

    @Override
    public boolean offers(Channel channel) {
        return channel == Channel.GOOGLE && google;
    }

    @Override
    public String link(Channel channel, String cardId, String programId, String linkToken) {
        return channel == Channel.GOOGLE ? GoogleSaveRoute.path(googleLinkKey, programId, cardId)
                : WalletOffers.super.link(channel, cardId, programId, linkToken);
    }
}
