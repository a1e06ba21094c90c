package app.sevenstamp.autopilot.sink.store;

import app.sevenstamp.autopilot.sink.loyalty.CardBalance;
import app.sevenstamp.autopilot.sink.loyalty.LedgerType;
import java.time.Clock;
import java.time.Instant;
import java.util.List;
import java.util.Objects;
import java.util.Optional;

/**
 * An operator's corrections of a card: adjust by a number of stamps and rewards, or undo the last
 * stamp (with what it earned). Each is one transaction that locks the card, appends one ledger
 * line with the operator's reason, and updates the card row, so the ledger still explains it.
 * Thread-safe.
 */
public final class CardCorrections {
    /** A correction that would make no sense; the message says why, for the operator. */
    public static final class Refused extends RuntimeException {
        public Refused(String message) {
            super(message);
        }
    }

    private final SinkStore store;
    private final Clock clock;
    private final LedgerHook ledgerHook;

    /**
     * @param ledgerHook told of the UNDO and ADJUST lines inside their transaction, after the card row is saved
     *                   (vouchers the card's rewards no longer cover are voided)
     */
    public CardCorrections(SinkStore store, Clock clock, LedgerHook ledgerHook) {
        this.store = Objects.requireNonNull(store, "store");
        this.clock = Objects.requireNonNull(clock, "clock");
        this.ledgerHook = Objects.requireNonNull(ledgerHook, "ledgerHook");
    }

    /**
     * The most stamps, and the most rewards, one adjustment adds or removes: an operator's correction of
     * one card, never a bulk import; it also keeps every balance far from int overflow. The admin
     * route and the CLI refuse more.
     */
    public static final int MAX_ADJUST = 1000;

    /**
     * Adds (or with negative numbers removes) stamps and rewards. Rewards granted count as earned.
     *
     * @throws Refused for a card without stamps yet, a blank reason, or a balance that would go negative
     */
    public StoredCard adjust(String cardId, int stamps, int rewards, String reason, String operator) {
        requireReason(reason);
        if (stamps == 0 && rewards == 0) {
            throw new Refused("an adjustment of 0 stamps and 0 rewards changes nothing");
        }
        Instant now = clock.instant();
        return store.transaction(tx -> {
            StoredCard card = existing(tx, cardId);
            CardBalance b = card.balance();
            int earned = Math.max(0, rewards);
            if (b.stamps() + stamps < 0 || b.rewardsAvailable() + rewards < 0) {
                throw new Refused("card " + cardId + " has " + b.stamps() + " stamps and " + b.rewardsAvailable()
                        + " rewards; adjusting by " + stamps + " stamps and " + rewards + " rewards would go below zero");
            }
            CardBalance after = new CardBalance(b.stamps() + stamps, b.rewardsAvailable() + rewards,
                    b.rewardsEarnedTotal() + earned);
            LedgerEntry line = new LedgerEntry(0, cardId, card.programId(), LedgerType.ADJUST, stamps, rewards, earned,
                    null, null, now, now, "operator", reason, actor(operator), null, null);
            Ledger.append(tx, line);
            StoredCard updated = card.with(after, card.lastStampAt());
            tx.saveCard(updated, false);
            ledgerHook.appended(tx, line);
            return updated;
        });
    }

    /**
     * Takes back the card's last stamp that was not undone yet, with the reward it earned or the
     * stamps that lapsed with it.
     *
     * @throws Refused when the card has no stamp to undo, or the reward it earned was already redeemed
     */
    public StoredCard undoLastStamp(String cardId, String reason, String operator) {
        requireReason(reason);
        Instant now = clock.instant();
        return store.transaction(tx -> {
            StoredCard card = existing(tx, cardId);
            LedgerEntry stamp = Ledger.lastStampLine(tx.connection(), cardId).orElseThrow(() ->
                    new Refused("card " + cardId + " has no stamp left to undo"));
            List<LedgerEntry> lines = Ledger.linesOfEvent(tx.connection(), cardId, stamp.eventId()).stream()
                    .filter(l -> l.type() != LedgerType.UNDO && l.type() != LedgerType.REJECTED && l.id() >= stamp.id())
                    .toList();
            int stamps = -lines.stream().mapToInt(LedgerEntry::stamps).sum();
            int rewards = -lines.stream().mapToInt(LedgerEntry::rewards).sum();
            int earned = -lines.stream().mapToInt(LedgerEntry::earned).sum();
            CardBalance b = card.balance();
            if (b.stamps() + stamps < 0 || b.rewardsAvailable() + rewards < 0) {
                throw new Refused("the last stamp of card " + cardId + " (event " + stamp.eventId() + ") earned a reward "
                        + "that was already redeemed; use an adjustment instead");
            }
            CardBalance after = new CardBalance(b.stamps() + stamps, b.rewardsAvailable() + rewards,
                    b.rewardsEarnedTotal() + earned);
            LedgerEntry undo = new LedgerEntry(0, cardId, card.programId(), LedgerType.UNDO, stamps, rewards, earned,
                    stamp.eventId(), stamp.location(), stamp.occurredAt(), now, "operator", reason, actor(operator), null,
                    stamp.id());
            Ledger.append(tx, undo);
            Instant lastStampAt = Ledger.lastStampLine(tx.connection(), cardId).map(LedgerEntry::occurredAt)
                    .orElse(null);
            StoredCard updated = card.with(after, lastStampAt);
            tx.saveCard(updated, false);
            ledgerHook.appended(tx, undo);
            return updated;
        });
    }

    private static StoredCard existing(SinkStore.Tx tx, String cardId) throws java.sql.SQLException {
        Optional<StoredCard> card = tx.lockCard(cardId);
        return card.orElseThrow(() -> new Refused("card " + cardId + " has no stamps yet; nothing to correct"));
    }

    private static void requireReason(String reason) {
        if (reason == null || reason.isBlank()) {
            throw new Refused("a correction needs a reason (it is kept in the card's ledger)");
        }
    }

    private static String actor(String operator) {
        return "operator:" + (operator == null || operator.isBlank() ? "admin" : operator);
    }
}
