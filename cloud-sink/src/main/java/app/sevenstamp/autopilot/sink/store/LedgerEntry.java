package app.sevenstamp.autopilot.sink.store;

import app.sevenstamp.autopilot.sink.loyalty.LedgerType;
import java.time.Instant;
import java.util.Objects;

/**
 * One line of the append-only ledger. A card's balance is the sum of its lines' deltas.
 *
 * @param id         assigned by the database, 0 before the line is stored
 * @param eventId    the stamp event that caused it; null for an operator's line
 * @param occurredAt when it happened (for a stamp: when the customer was at the counter)
 * @param reason     for REJECTED the reject reason; for ADJUST and UNDO the operator's reason
 * @param actor      the device id, or {@code operator:<name>}, or {@code migration}
 * @param flag       e.g. {@code IMPOSSIBLE_TRAVEL}; null when nothing is odd
 * @param undoes     for UNDO, the id of the STAMP line it takes back
 */
public record LedgerEntry(long id, String cardId, String programId, LedgerType type, int stamps, int rewards, int earned,
        String eventId, String location, Instant occurredAt, Instant recordedAt, String reason, String note, String actor,
        String flag, Long undoes) {
    public LedgerEntry {
        Objects.requireNonNull(cardId, "cardId");
        Objects.requireNonNull(programId, "programId");
        Objects.requireNonNull(type, "type");
        Objects.requireNonNull(occurredAt, "occurredAt");
        Objects.requireNonNull(recordedAt, "recordedAt");
        Objects.requireNonNull(actor, "actor");
    }
}
