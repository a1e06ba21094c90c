package app.sevenstamp.autopilot.sink.http;

import app.sevenstamp.autopilot.sink.loyalty.Program;
import app.sevenstamp.autopilot.sink.store.StoredCard;
import java.util.List;
import java.util.Map;

/**
 * The JSON body of {@code GET /api/v1/cards/{cardId}}.
 *
 * @param stampsRequired 0 for a card whose program is no longer configured
 * @param lastStampAt    ISO-8601 instant, or null before the first stamp
 * @param vouchers       the card's vouchers, newest first, as {@link VoucherJson#customer} shows them
 */
record CardView(
        String cardId,
        String programId,
        String programName,
        int stamps,
        int stampsRequired,
        int rewardsAvailable,
        String lastStampAt,
        List<Map<String, Object>> vouchers) {

    public CardView {
        vouchers = List.copyOf(vouchers);
    }


    static CardView of(StoredCard card, Program program) {
        return of(card, program, List.of());
    }

    static CardView of(StoredCard card, Program program, List<Map<String, Object>> vouchers) {
        return new CardView(card.cardId(), card.programId(), program == null ? card.programId() : program.name(),
                card.balance().stamps(), program == null ? 0 : program.stampsRequired(),
                card.balance().rewardsAvailable(), card.lastStampAt() == null ? null : card.lastStampAt().toString(),
                vouchers);
    }
}
