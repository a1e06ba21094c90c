package app.sevenstamp.autopilot.sink.ingest;

import app.sevenstamp.autopilot.protocol.AckOutcome;
import app.sevenstamp.autopilot.protocol.CardState;
import app.sevenstamp.autopilot.protocol.EventKind;
import app.sevenstamp.autopilot.protocol.RejectReason;
import app.sevenstamp.autopilot.protocol.StampAck;
import app.sevenstamp.autopilot.protocol.StampEvent;
import app.sevenstamp.autopilot.protocol.WireCodec;
import app.sevenstamp.autopilot.sink.ingest.EventChecks.Ready;
import app.sevenstamp.autopilot.sink.loyalty.CardBalance;
import app.sevenstamp.autopilot.sink.loyalty.Program;
import app.sevenstamp.autopilot.sink.loyalty.ProgramRule;
import app.sevenstamp.autopilot.sink.loyalty.RuleResult;
import app.sevenstamp.autopilot.sink.loyalty.LedgerType;
import app.sevenstamp.autopilot.sink.loyalty.StampDecision;
import app.sevenstamp.autopilot.sink.loyalty.StampRules;
import app.sevenstamp.autopilot.sink.store.LedgerEntry;
import app.sevenstamp.autopilot.sink.store.LedgerHook;
import app.sevenstamp.autopilot.sink.store.SeqNote;
import app.sevenstamp.autopilot.sink.store.SinkStore;
import app.sevenstamp.autopilot.sink.store.StoredCard;
import app.sevenstamp.autopilot.sink.store.StoredEvent;
import java.sql.SQLException;
import java.time.Clock;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;

/**
 * The second half of deciding a message (see {@link EventProcessor}): judging checked events against
 * their cards inside the caller's transaction. A batch reads what is stored of its events and cards
 * in few statements ({@link BatchView}), judges each event in arrival order against the card as the
 * events before it left it (the program's rules, {@link StampDecision}), writes the event rows, card
 * rows and ledger lines in JDBC batches, and notes the devices' sequence numbers last. A rejection is
 * a decision written as its own row, never an error. Nothing here counts or logs: that follows the
 * commit ({@link EventProcessor}).
 *
 * <p>Stateless apart from its collaborators; thread-safe.
 */
final class CardJudge {
    private final Map<String, Program> programs;
    private final Clock clock;
    private final LedgerHook ledgerHook;

    /** @param programs not copied: the console's live view (ProgramBook) */
    CardJudge(Map<String, Program> programs, Clock clock, LedgerHook ledgerHook) {
        this.programs = Objects.requireNonNull(programs, "programs");
        this.clock = Objects.requireNonNull(clock, "clock");
        this.ledgerHook = Objects.requireNonNull(ledgerHook, "ledgerHook");
    }

    /** What a transaction decided, handed out of it so that counting and logging follow the commit. */
    record Decided(StampAck ack, boolean redelivery, String storedReason, String detail, String flag,
            SeqNote seq) {
        Decided(StampAck ack, boolean redelivery, String storedReason, String detail) {
            this(ack, redelivery, storedReason, detail, null, SeqNote.NONE);
        }

        Decided withSeq(SeqNote note) {
            return new Decided(ack, redelivery, storedReason, detail, flag, note);
        }
    }

    /**
     * The database part of events, in order, inside the caller's transaction: a batch, or one event
     * (the POS route, the fallback), by the same code. The events already stored are read in one
     * query and the cards locked and read in one ({@link BatchView}); each event is then judged
     * against the cards as the events before it left them, and the rows are written in JDBC batches.
     * The sequence numbers come last ({@link #noteSeqs}).
     */
    List<Decided> decideAll(SinkStore.Tx tx, List<Ready> ready) throws SQLException {
        List<String> eventIds = new ArrayList<>(ready.size());
        Set<String> cardIds = new HashSet<>();
        for (Ready r : ready) {
            eventIds.add(r.event().eventId());
            if (r.program() != null) {
                cardIds.add(r.event().cardId());
            }
        }
        BatchView view = BatchView.open(tx, eventIds, cardIds);
        List<Decided> out = new ArrayList<>(ready.size());
        for (Ready r : ready) {
            out.add(decideIn(view, r));
        }
        view.flush();
        noteSeqs(tx, ready, out);
        return out;
    }

    private Decided decideIn(BatchView view, Ready r) throws SQLException {
        StoredEvent stored = view.event(r.event().eventId());
        if (stored != null) {
            return duplicate(view, r.event(), stored);
        }
        return r.reject() != null ? rejectIn(view, r.event(), r.reject(), r.detail())
                : applyIn(view, r.event(), r.program());
    }

    /**
     * The batch's sequence numbers, device by device in id order, each device's in arrival order,
     * as the last statements of the batch. With a shared subscription both instances get events of
     * every device, so the device rows are the rows they contend for most: locked at the end, and
     * in one order (cards before devices, as everywhere), they are held for the commit only.
     */
    private void noteSeqs(SinkStore.Tx tx, List<Ready> ready, List<Decided> decided) throws SQLException {
        Map<String, List<Integer>> byDevice = new java.util.TreeMap<>();
        for (int i = 0; i < ready.size(); i++) {
            StampEvent e = ready.get(i).event();
            if (!decided.get(i).redelivery() && EventProcessor.sequenced(e.deviceId())) {
                byDevice.computeIfAbsent(e.deviceId(), d -> new ArrayList<>()).add(i);
            }
        }
        Map<String, List<Long>> seqs = new java.util.TreeMap<>();
        for (Map.Entry<String, List<Integer>> device : byDevice.entrySet()) {
            List<Long> numbers = new ArrayList<>(device.getValue().size());
            for (int i : device.getValue()) {
                numbers.add(ready.get(i).event().seq());
            }
            seqs.put(device.getKey(), numbers);
        }
        // One statement locks and reads the batch's device rows, one JDBC batch updates them.
        Map<String, List<SeqNote>> notes = tx.noteDeviceSeqs(seqs, clock.instant());
        for (Map.Entry<String, List<Integer>> device : byDevice.entrySet()) {
            List<SeqNote> deviceNotes = notes.get(device.getKey());
            for (int k = 0; k < deviceNotes.size(); k++) {
                int i = device.getValue().get(k);
                decided.set(i, decided.get(i).withSeq(deviceNotes.get(k)));
            }
        }
    }

    /**
     * Applies a stamp or redeem to its card in one transaction: the card row is locked, the rules
     * decide ({@link StampDecision}), and the event row, the card row and the ledger lines are
     * written together, so the ledger always explains the card. The caller checked that the event
     * is not stored yet.
     */
    private Decided applyIn(BatchView view, StampEvent event, Program program) throws SQLException {
        // microseconds, what PostgreSQL keeps: the batch judges later events of the card against these times
        // in memory, one event at a time reads them back from the database; both must see the same instant
        Instant now = clock.instant().truncatedTo(ChronoUnit.MICROS);
        Optional<StoredCard> before = view.card(event.cardId());
        CardBalance balance = before.map(StoredCard::balance).orElse(CardBalance.EMPTY);
        Instant at = stampTime(event, now).truncatedTo(ChronoUnit.MICROS);
        Instant lastStampAt = before.map(StoredCard::lastStampAt).orElse(null);
        StampDecision.Outcome outcome = event.kind() == EventKind.STAMP
                ? decideStamp(view, event, program, balance, lastStampAt, at)
                : redeem(balance);
        if (outcome instanceof StampDecision.Refused refused) {
            String reason = refused.reason().name();
            view.insert(row(event, AckOutcome.REJECTED, reason, now));
            if (before.isPresent()) {
                // not for the hook: a rejection issues and redeems nothing
                view.append(line(event, program, new StampDecision.Delta(LedgerType.REJECTED, 0, 0, 0,
                        refused.detail()), at, now, reason, null));
            }
            StampAck ack = new StampAck(WireCodec.SCHEMA, event.eventId(), event.deviceId(), AckOutcome.REJECTED,
                    wireReason(reason), false, before.map(c -> state(c, program)).orElse(null));
            return new Decided(ack, false, reason, "card " + event.cardId() + ": " + refused.detail(), null, SeqNote.NONE);
        }
        StampDecision.Applied applied = (StampDecision.Applied) outcome;
        view.insert(row(event, AckOutcome.ACCEPTED, null, now));
        if (event.kind() == EventKind.STAMP) {
            lastStampAt = later(lastStampAt, at);
        }
        StoredCard after = before.isPresent()
                ? before.get().with(applied.after(), lastStampAt)
                : new StoredCard(event.cardId(), program.id(), applied.after(), lastStampAt, now);
        view.save(after);
        for (StampDecision.Delta d : applied.deltas()) {
            append(view, line(event, program, d, at, now, null, d.type() == LedgerType.STAMP ? applied.flag() : null));
        }
        StampAck ack = new StampAck(WireCodec.SCHEMA, event.eventId(), event.deviceId(), AckOutcome.ACCEPTED, null,
                applied.rewardEarned(), state(after, program));
        return new Decided(ack, false, null, null, applied.flag(), SeqNote.NONE);
    }

    /**
     * Appends the line and tells the hook of it; a line the hook wants is handed over with everything
     * before it written (the hook writes rows of its own, e.g. a voucher and its ledger line, right
     * after this one).
     */
    private void append(BatchView view, LedgerEntry line) throws SQLException {
        view.append(line);
        if (ledgerHook.wants(line)) {
            if (ledgerHook.readsStore(line)) {
                view.flush();
            }
            ledgerHook.appended(view.tx(), line);
        }
    }

    /** Reads what the program's rules need (only those that are switched on cost a query). */
    private static StampDecision.Outcome decideStamp(BatchView view, StampEvent event, Program program,
            CardBalance balance, Instant lastStampAt, Instant at) throws SQLException {
        StampRules rules = program.rules();
        int thatDay = 0;
        if (rules.dailyCap() > 0) {
            Instant dayStart = at.atZone(rules.zone()).toLocalDate().atStartOfDay(rules.zone()).toInstant();
            Instant dayEnd = at.atZone(rules.zone()).toLocalDate().plusDays(1).atStartOfDay(rules.zone()).toInstant();
            thatDay = view.stampsBetween(event.cardId(), dayStart, dayEnd);
        }
        StampDecision.LastStamp last = rules.minTravel().isZero() ? null
                : view.lastStamp(event.cardId()).orElse(null);
        return StampDecision.stamp(program, balance, lastStampAt, at, thatDay, last, event.location());
    }

    private static StampDecision.Outcome redeem(CardBalance balance) {
        RuleResult result = ProgramRule.redeem(balance);
        if (!result.applied()) {
            return new StampDecision.Refused(RejectReason.NO_REWARD, "no reward to redeem");
        }
        return new StampDecision.Applied(List.of(new StampDecision.Delta(LedgerType.REDEEM, 0, -1, 0, null)),
                result.after(), false, null);
    }

    private static LedgerEntry line(StampEvent event, Program program, StampDecision.Delta d, Instant at, Instant now,
            String reason, String flag) {
        return new LedgerEntry(0, event.cardId(), program.id(), d.type(), d.stamps(), d.rewards(), d.earned(),
                event.eventId(), event.location(), at, now, reason, d.note(), event.deviceId(), flag, null);
    }

    private Decided rejectIn(BatchView view, StampEvent event, RejectReason reason, String detail) {
        Instant now = clock.instant();
        view.insert(row(event, AckOutcome.REJECTED, reason.name(), now));
        StampAck ack = new StampAck(WireCodec.SCHEMA, event.eventId(), event.deviceId(), AckOutcome.REJECTED, reason,
                false, null);
        return new Decided(ack, false, reason.name(), detail, null, SeqNote.NONE);
    }

    /**
     * The answer to a redelivery (stored before the batch, or earlier in it): the same decision as
     * the first time, never a second count. An accepted event is answered DUPLICATE with the card as
     * it is now; a rejected one is rejected again with its stored reason, so the gateway can tell the
     * two apart.
     */
    private Decided duplicate(BatchView view, StampEvent event, StoredEvent original) throws SQLException {
        if (original.outcome() == AckOutcome.REJECTED) {
            return new Decided(new StampAck(WireCodec.SCHEMA, event.eventId(), event.deviceId(), AckOutcome.REJECTED,
                    wireReason(original.reason()), false, null), true, original.reason(), null);
        }
        CardState card = original.cardId() == null ? null : view.card(original.cardId())
                .map(c -> state(c, programs.get(c.programId()))).orElse(null);
        return new Decided(new StampAck(WireCodec.SCHEMA, event.eventId(), event.deviceId(), AckOutcome.DUPLICATE, null,
                false, card), true, null, null);
    }

    /** The stored reason as the wire carries it; a row written by another version maps to OTHER. */
    static RejectReason wireReason(String stored) {
        try {
            return RejectReason.valueOf(stored);
        } catch (IllegalArgumentException | NullPointerException e) {
            return RejectReason.OTHER;
        }
    }

    /**
     * A synchronised gateway clock tells when the customer was at the counter, even for an event
     * that was buffered for hours; an unsynchronised one may say 1970, so the sink's own clock is
     * the better guess then.
     */
    private static Instant stampTime(StampEvent event, Instant receivedAt) {
        return event.clockSynced() ? event.deviceTime() : receivedAt;
    }

    private static Instant later(Instant a, Instant b) {
        return a == null || b.isAfter(a) ? b : a;
    }

    private static CardState state(StoredCard card, Program program) {
        // A card whose program was removed from the config still answers, with 0 as its goal.
        int required = program == null ? 0 : program.stampsRequired();
        return new CardState(card.cardId(), card.programId(), card.balance().stamps(), required,
                card.balance().rewardsAvailable(), card.lastStampAt());
    }

    private static StoredEvent row(StampEvent event, AckOutcome outcome, String reason, Instant receivedAt) {
        return new StoredEvent(event.eventId(), event.deviceId(), event.seq(), event.cardId(), event.programId(),
                event.kind().name(), event.deviceTime(), receivedAt, event.clockSynced(), outcome, reason);
    }
}
