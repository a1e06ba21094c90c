package app.sevenstamp.autopilot.sink.store;

import app.sevenstamp.autopilot.sink.loyalty.CardBalance;
import java.time.Instant;
import java.util.Objects;

/**
 * A row of {@code cards}. A card has a row from its first accepted event on; issuing a code
 * needs no row, because the code is self-authenticating.
 *
 * @param lastStampAt  when the last stamp happened (see the ingest for which clock), null before the first
 * @param firstSeenAt  the sink's time when the card's first event arrived
 */
public record StoredCard(String cardId, String programId, CardBalance balance, Instant lastStampAt, Instant firstSeenAt) {
    public StoredCard {
        Objects.requireNonNull(cardId, "cardId");
        Objects.requireNonNull(programId, "programId");
        Objects.requireNonNull(balance, "balance");
        Objects.requireNonNull(firstSeenAt, "firstSeenAt");
    }

    public StoredCard with(CardBalance newBalance, Instant newLastStampAt) {
        return new StoredCard(cardId, programId, newBalance, newLastStampAt, firstSeenAt);
    }
}
