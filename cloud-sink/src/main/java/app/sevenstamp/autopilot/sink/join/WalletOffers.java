package app.sevenstamp.autopilot.sink.join;

/**
 * Which wallets the page after joining offers. A channel is offered only when the sink can really
 * deliver it (its credentials are configured): a button that leads to an error is worse than none.
 * The web card is always offered. {@link #NONE} is the default; the wallet parts replace it when they
 * are configured.
 *
 * <p>The buttons lead to {@code /wallet/apple/<cardId>.pkpass} and {@code /wallet/google/<cardId>},
 * with {@code ?k=<the web card link token>} appended: a card id is printed inside the card code and is
 * no secret, so a route that hands out the card's barcode should check the token
 * ({@link JoinStore#withLink}) before it does.
 */
public interface WalletOffers {
    enum Channel {
        APPLE,
        GOOGLE
    }

    /** Nothing configured: the join page offers the web card only. */
    WalletOffers NONE = channel -> false;

    /** True when this channel can be offered now. */
    boolean offers(Channel channel);

    /** The button's link for a card of a program. */
    default String link(Channel channel, String cardId, String programId, String linkToken) {
        return (channel == Channel.APPLE ? "/wallet/apple/" + cardId + ".pkpass" : "/wallet/google/" + cardId)
                + "?k=" + linkToken;
    }

    /** True when some channel is offered. */
    default boolean any() {
        for (Channel c : Channel.values()) {
            if (offers(c)) {
                return true;
            }
        }
        return false;
    }
}
