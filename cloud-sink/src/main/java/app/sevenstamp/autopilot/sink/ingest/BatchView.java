package app.sevenstamp.autopilot.sink.ingest;

import app.sevenstamp.autopilot.sink.loyalty.LedgerType;
import app.sevenstamp.autopilot.sink.loyalty.StampDecision;
import app.sevenstamp.autopilot.sink.store.Ledger;
import app.sevenstamp.autopilot.sink.store.LedgerEntry;
import app.sevenstamp.autopilot.sink.store.SinkStore;
import app.sevenstamp.autopilot.sink.store.StoredCard;
import app.sevenstamp.autopilot.sink.store.StoredEvent;
import java.sql.SQLException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * What one batch transaction knows and has yet to write, so that its events cost few round trips
 * and are still judged one after the other, each seeing what the ones before it did:
 *
 * <ul>
 * <li>the stored events among the batch's ids (one query), plus the events decided earlier in the
 *     batch: the duplicate check;
 * <li>the batch's cards, locked and read in one query, then kept up to date in memory as events
 *     apply;
 * <li>the rows to write: events, cards and ledger lines, each as one JDBC batch at {@link #flush}.
 *     Everything pending is written before anything reads the ledger (the daily cap and travel
 *     queries) and before a ledger hook gets a line it wants, so those see the database exactly as
 *     line-by-line processing would.
 * </ul>
 *
 * <p>Lives inside one attempt of one transaction, on its thread.
 */
final class BatchView {
    private final SinkStore.Tx tx;
    private final Map<String, StoredEvent> events;
    private final Set<String> lockedCards;
    private final Map<String, StoredCard> cards;
    /** Cards that have a row in the database (read at the start, or written by a flush). */
    private final Set<String> cardRows;

    private final List<StoredEvent> pendingEvents = new ArrayList<>();
    private final Map<String, StoredCard> pendingCards = new LinkedHashMap<>();
    private final List<LedgerEntry> pendingLines = new ArrayList<>();
    private final Set<String> cardsWithPendingLines = new HashSet<>();
    /** Stamps per card and day read for the daily cap, counted on as the batch stamps: exact integers. */
    private final Map<String, List<DayCount>> stampsPerDay = new HashMap<>();

    private BatchView(SinkStore.Tx tx, Map<String, StoredEvent> events, Set<String> lockedCards,
            Map<String, StoredCard> cards) {
        this.tx = tx;
        this.events = events;
        this.lockedCards = lockedCards;
        this.cards = cards;
        this.cardRows = new HashSet<>(cards.keySet());
    }

    /** Reads the stored events among {@code eventIds}, and locks and reads {@code cardIds} in id order. */
    static BatchView open(SinkStore.Tx tx, Collection<String> eventIds, Collection<String> cardIds) throws SQLException {
        Map<String, StoredEvent> stored = tx.events(eventIds);
        return new BatchView(tx, stored, new HashSet<>(cardIds), tx.lockAndReadCards(cardIds));
    }

    /** The event stored under this id, before the batch or earlier in it; null if none. */
    StoredEvent event(String eventId) {
        return events.get(eventId);
    }

    /** Records a decided event: written at the next flush, and a duplicate for the rest of the batch. */
    void insert(StoredEvent e) {
        events.put(e.eventId(), e);
        pendingEvents.add(e);
    }

    /** The card as the batch has left it so far. */
    Optional<StoredCard> card(String cardId) throws SQLException {
        if (lockedCards.contains(cardId)) {
            return Optional.ofNullable(cards.get(cardId));
        }
        // Not a card of this batch (the original of a duplicate that named another card): nothing in
        // the batch writes it, so the database is current.
        return tx.card(cardId);
    }

    /** Keeps the card's new state; written at the next flush. Only for cards locked at {@link #open}. */
    void save(StoredCard card) {
        if (!lockedCards.contains(card.cardId())) {
            throw new IllegalStateException("card " + card.cardId() + " was not locked for this batch");
        }
        cards.put(card.cardId(), card);
        pendingCards.put(card.cardId(), card);
    }

    /** Appends a ledger line: written at the next flush, in order. */
    void append(LedgerEntry line) {
        pendingLines.add(line);
        if (line.cardId() != null) {
            cardsWithPendingLines.add(line.cardId());
            if (line.type() == LedgerType.STAMP) {
                for (DayCount d : stampsPerDay.getOrDefault(line.cardId(), List.of())) {
                    if (!line.occurredAt().isBefore(d.from()) && line.occurredAt().isBefore(d.to())) {
                        d.count++;
                    }
                }
            }
        }
    }

    /** {@link Ledger#stampsBetween} as it would read with every line of the batch so far written. */
    int stampsBetween(String cardId, Instant from, Instant to) throws SQLException {
        List<DayCount> known = stampsPerDay.computeIfAbsent(cardId, c -> new ArrayList<>());
        for (DayCount d : known) {
            if (d.from().equals(from) && d.to().equals(to)) {
                return d.count;
            }
        }
        flushIfPending(cardId);
        DayCount d = new DayCount(from, to, Ledger.stampsBetween(tx, cardId, from, to));
        known.add(d);
        return d.count;
    }

    /** {@link Ledger#lastStamp} as it would read with every line of the batch so far written. */
    Optional<StampDecision.LastStamp> lastStamp(String cardId) throws SQLException {
        // Read, not kept: the stored time may be coarser than the Instant (PostgreSQL keeps microseconds).
        flushIfPending(cardId);
        return Ledger.lastStamp(tx, cardId);
    }

    private void flushIfPending(String cardId) throws SQLException {
        if (cardsWithPendingLines.contains(cardId)) {
            flush();
        }
    }

    /**
     * Writes everything pending: event rows and card rows in id order (two instances that happen to
     * write the same ones wait for each other rather than deadlock), then ledger lines in order.
     */
    void flush() throws SQLException {
        pendingEvents.sort(Comparator.comparing(StoredEvent::eventId));
        tx.insertEvents(pendingEvents);
        pendingEvents.clear();
        if (!pendingCards.isEmpty()) {
            tx.saveCards(pendingCards.values(), id -> !cardRows.contains(id));
            cardRows.addAll(pendingCards.keySet());
            pendingCards.clear();
        }
        Ledger.appendAll(tx, pendingLines);
        pendingLines.clear();
        cardsWithPendingLines.clear();
    }

    SinkStore.Tx tx() {
        return tx;
    }

    private static final class DayCount {
        private final Instant from;
        private final Instant to;
        int count;

        DayCount(Instant from, Instant to, int count) {
            this.from = from;
            this.to = to;
            this.count = count;
        }

        Instant from() {
            return from;
        }

        Instant to() {
            return to;
        }
    }
}
