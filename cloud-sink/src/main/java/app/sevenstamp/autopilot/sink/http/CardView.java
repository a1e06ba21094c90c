package app.sevenstamp.autopilot.sink.http;

import app.sevenstamp.autopilot.sink.loyalty.Program;
import app.sevenstamp.autopilot.sink.store.StoredCard;

/**
 * The JSON body of {@code GET /api/v1/cards/{cardId}}.
 *
 * @param stampsRequired 0 for a card whose program is no longer configured
 * @param lastStampAt    ISO-8601 instant, or null before the first stamp
 */
public record CardView(
        String cardId,
        String programId,
        String programName,
        int stamps,
        int stampsRequired,
        int rewardsAvailable,
        String lastStampAt) {

    static CardView of(StoredCard card, Program program) {
        return new CardView(card.cardId(), card.programId(), program == null ? card.programId() : program.name(),
                card.balance().stamps(), program == null ? 0 : program.stampsRequired(),
                card.balance().rewardsAvailable(), card.lastStampAt() == null ? null : card.lastStampAt().toString());
    }
}
