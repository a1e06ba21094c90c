package app.sevenstamp.autopilot.sink.wallet.google;

import app.sevenstamp.autopilot.sink.cards.SigningKey;
import app.sevenstamp.autopilot.sink.wallet.PassChannel;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Google Wallet as one of the pass update queue's channels: each committed card change becomes a
 * PATCH of the card's object. The queue coalesces changes, so what changed is read from the card
 * itself: more rewards than this channel last sent is a REWARD, more vouchers a VOUCHER (both may
 * notify the phone, within Google's three a day), anything else a silent STAMP. The barcode is the card
 * code, signed again from the card's ids (Ed25519 signatures are deterministic: the same code).
 */
public final class GooglePassChannel implements PassChannel {
    private static final int REMEMBERED = 100_000;

    private final GoogleChannel google;
    private final SigningKey key;
    /** card id -> {rewards, vouchers} last sent; bounded, a forgotten card's next change is silent */
    private final Map<String, int[]> sent = new LinkedHashMap<>(1024, 0.75f, true) {
        @Override
        protected boolean removeEldestEntry(Map.Entry<String, int[]> eldest) {
            return size() > REMEMBERED;
        }
    };

    public GooglePassChannel(GoogleChannel google, SigningKey key) {
        this.google = google;
        this.key = key;
    }

    @Override
    public String name() {
        return "google";
    }

    @Override
    public void cardChanged(app.sevenstamp.autopilot.sink.wallet.CardState card) {
        int[] before = sent.get(card.cardId());
        ChangeKind kind = before == null ? ChangeKind.STAMP
                : card.rewardsAvailable() > before[0] ? ChangeKind.REWARD
                : card.vouchers().size() > before[1] ? ChangeKind.VOUCHER : ChangeKind.STAMP;
        CardState state = new CardState(card.cardId(), card.programId(), card.programName(),
                Math.min(card.stamps(), card.stampsRequired()), card.stampsRequired(), card.rewardsAvailable(),
                key.signer().sign(card.programId(), card.cardId()));
        google.cardChanged(state, kind); // a failure throws: the queue keeps the update and retries with backoff
        sent.put(card.cardId(), new int[] {card.rewardsAvailable(), card.vouchers().size()});
    }
}
