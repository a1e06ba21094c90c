package app.sevenstamp.autopilot.sink.ingest;

import app.sevenstamp.autopilot.protocol.AckOutcome;
import app.sevenstamp.autopilot.protocol.CardState;
import app.sevenstamp.autopilot.protocol.EventKind;
import app.sevenstamp.autopilot.protocol.MalformedMessageException;
import app.sevenstamp.autopilot.protocol.RejectReason;
import app.sevenstamp.autopilot.protocol.StampAck;
import app.sevenstamp.autopilot.protocol.StampEvent;
import app.sevenstamp.autopilot.protocol.Topics;
import app.sevenstamp.autopilot.protocol.WireCodec;
import app.sevenstamp.autopilot.protocol.card.CardCheck;
import app.sevenstamp.autopilot.protocol.card.CardCode;
import app.sevenstamp.autopilot.protocol.card.CardVerifier;
import app.sevenstamp.autopilot.sink.metrics.SinkMetrics;
import app.sevenstamp.autopilot.sink.loyalty.CardBalance;
import app.sevenstamp.autopilot.sink.loyalty.Program;
import app.sevenstamp.autopilot.sink.loyalty.ProgramRule;
import app.sevenstamp.autopilot.sink.loyalty.RuleResult;
import app.sevenstamp.autopilot.sink.loyalty.LedgerType;
import app.sevenstamp.autopilot.sink.loyalty.StampDecision;
import app.sevenstamp.autopilot.sink.loyalty.StampRules;
import app.sevenstamp.autopilot.sink.store.DeadLetters;
import app.sevenstamp.autopilot.sink.store.LedgerEntry;
import app.sevenstamp.autopilot.sink.store.LedgerHook;
import app.sevenstamp.autopilot.sink.store.SeqGap;
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
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import org.tinylog.Logger;

/**
 * Decides on one message from a stamps topic, synchronously: decode, check, then apply it to the
 * card in ONE transaction. Returns the acknowledgement to publish, which the caller sends only
 * after the transaction is on the disk; empty for a payload that gets no answer (malformed, or
 * sent on another device's topic: there is nobody trustworthy to answer).
 *
 * <p>Checks, in order: the topic names a device; the payload decodes ({@link WireCodec}, which also
 * holds every field to its format: the event id a lowercase UUID, seq, lengths); the event's device
 * id is the topic's (a device cannot stamp in another's name); its seq jumps at most
 * {@link #MAX_SEQ_JUMP}. Those failures are counted as malformed, never stored. Then the card code is
 * verified again with the sink's own key (the gateway's offline check is not trusted), its ids must
 * equal the event's, and its program must be configured: those failures are stored and answered
 * REJECTED, so the gateway stops retrying them.
 *
 * <p>{@link #processBatch} decides many messages in one transaction (the MQTT ingest);
 * {@link #process} one (the POS route).
 *
 * <p>Thread-safe, but meant for the one ingest thread (and the POS route): two threads could
 * answer the same card out of order.
 */
public final class EventProcessor {
    /** Dead-letter and malformed-counter kind of an event whose transaction fails on its own (a poison event). */
    public static final String APPLY_FAILED = "apply";

    /**
     * The furthest a device's sequence number may jump beyond the highest one the sink has of it (0
     * for a device not seen yet): a gap is at most this many events minus one. A box that buffered
     * through a week-long outage at a busy counter holds a few thousand events; 100,000 is years of
     * one counter's scans, so only a forged or corrupted number goes further, and it would otherwise
     * open a gap of up to 2^53 "missing" events that never close. Such an event is a dead letter of
     * kind {@value #SEQ_JUMP}, not answered.
     */
    public static final long MAX_SEQ_JUMP = 100_000;

    /** Dead-letter and malformed-counter kind of an event whose seq jumps more than {@link #MAX_SEQ_JUMP}. */
    public static final String SEQ_JUMP = "seq-jump";

    /** Device ids of the POS route's pseudo-devices start with this; see {@link #sequenced}. */
    public static final String POS_DEVICE_PREFIX = "pos-";

    /** Stored as the reason of a redeem without an available reward; see {@link #wireReason}. */
    static final String NO_REWARD = RejectReason.NO_REWARD.name();

    private final Topics topics;
    private final VerifiedCards cards;
    private final Map<String, Program> programs;
    private final SinkStore store;
    private final SinkMetrics metrics;
    private final Clock clock;
    private final WireCodec codec;
    private static final int PARKED_FAILURES_REMEMBERED = 4096;
    private final Set<String> warned = ConcurrentHashMap.newKeySet();
    /**
     * Event ids parked because they could not be applied, newest last: the gateway sends such an event again
     * and again (it is never answered), and one dead letter per event is enough. Bounded; ingest thread only.
     */
    private final Map<String, Boolean> parkedFailures = new java.util.LinkedHashMap<>(64, 0.75f, true) {
        private static final long serialVersionUID = 1L;

        @Override
        protected boolean removeEldestEntry(Map.Entry<String, Boolean> eldest) {
            return size() > PARKED_FAILURES_REMEMBERED;
        }
    };
    private final DeviceGate devices;
    private final DeadLetters deadLetters;
    private final LedgerHook ledgerHook;

    /** Takes events from every device. */
    public EventProcessor(Topics topics, CardVerifier verifier, Map<String, Program> programs, SinkStore store,
            SinkMetrics metrics, Clock clock, WireCodec codec) {
        this(topics, verifier, programs, store, metrics, clock, codec, DeviceGate.ANY);
    }

    public EventProcessor(Topics topics, CardVerifier verifier, Map<String, Program> programs, SinkStore store,
            SinkMetrics metrics, Clock clock, WireCodec codec, DeviceGate devices) {
        this(topics, verifier, programs, store, metrics, clock, codec, devices, LedgerHook.NONE);
    }

    /** @param ledgerHook told of every ledger line an accepted event appends, inside its transaction (vouchers) */
    public EventProcessor(Topics topics, CardVerifier verifier, Map<String, Program> programs, SinkStore store,
            SinkMetrics metrics, Clock clock, WireCodec codec, DeviceGate devices, LedgerHook ledgerHook) {
        this.ledgerHook = Objects.requireNonNull(ledgerHook, "ledgerHook");
        this.topics = Objects.requireNonNull(topics, "topics");
        this.cards = new VerifiedCards(Objects.requireNonNull(verifier, "verifier"), VerifiedCards.DEFAULT_CAPACITY);
        this.programs = java.util.Objects.requireNonNull(programs, "programs"); // not copied: the console's live view (ProgramBook)
        this.store = Objects.requireNonNull(store, "store");
        this.metrics = Objects.requireNonNull(metrics, "metrics");
        this.clock = Objects.requireNonNull(clock, "clock");
        this.codec = Objects.requireNonNull(codec, "codec");
        this.devices = Objects.requireNonNull(devices, "devices");
        this.deadLetters = new DeadLetters(store);
    }

    /**
     * Decides one message in its own transaction (the POS route, and the tests).
     *
     * @throws app.sevenstamp.autopilot.sink.store.StoreException when the database fails; nothing
     *         was applied then, and the gateway will send the event again
     */
    public Optional<Outbound> process(String topic, byte[] payload) {
        List<Checked> checked = new ArrayList<>(List.of(check(topic, payload)));
        refuseSeqJumps(checked);
        if (!(checked.get(0) instanceof Ready ready)) {
            return Optional.empty();
        }
        Decided decided = store.transaction(tx -> decideAll(tx, List.of(ready)).get(0));
        return Optional.of(finish(ready, decided));
    }

    /** One message of a batch, as it came from the broker. */
    public record Message(String topic, byte[] payload) {
    }

    /**
     * Decides a batch of messages in ONE transaction (group commit): one commit, and one sync by the
     * caller, for the whole batch instead of one per event. Returns one entry per message, in order:
     * the answer to publish, or empty (unusable message, parked; or not applied, left for redelivery).
     *
     * <p>Decide before write: card checks, rule rejections and duplicates are decisions, each
     * written as its own row, so one event's rejection never undoes another's stamp. Events are
     * decided in arrival order, each seeing the card as the events before it left it. The card rows
     * the batch touches are locked and read first, in key order ({@link SinkStore.Tx#lockAndReadCards}),
     * with few round trips after that ({@link #decideAll}); the device rows last ({@link #noteSeqs}). If the transaction fails anyway (a database error, an event
     * that cannot be written) nothing of it stays, and the events are decided again one by one, each
     * in its own transaction: an event that fails alone is parked as a dead letter of kind
     * {@value #APPLY_FAILED} and left unanswered, and the others commit.
     */
    public List<Optional<Outbound>> processBatch(List<Message> messages) {
        List<Checked> checked = new ArrayList<>(messages.size());
        List<Ready> ready = new ArrayList<>(messages.size());
        for (Message m : messages) {
            checked.add(check(m.topic(), m.payload()));
        }
        refuseSeqJumps(checked);
        for (Checked c : checked) {
            if (c instanceof Ready r) {
                ready.add(r);
            }
        }
        Map<Ready, Outbound> answers = new IdentityHashMap<>();
        if (!ready.isEmpty()) {
            List<Decided> decided = null;
            try {
                decided = store.transaction(tx -> decideAll(tx, ready));
            } catch (RuntimeException e) {
                Logger.warn("a batch of {} events failed as a whole ({}); deciding them one by one", ready.size(),
                        String.valueOf(e.getMessage()));
            }
            if (decided != null) {
                for (int i = 0; i < ready.size(); i++) {
                    answers.put(ready.get(i), finish(ready.get(i), decided.get(i)));
                }
            } else {
                oneByOne(ready, answers);
            }
        }
        List<Optional<Outbound>> out = new ArrayList<>(messages.size());
        for (Checked c : checked) {
            out.add(c instanceof Ready r ? Optional.ofNullable(answers.get(r)) : Optional.empty());
        }
        return out;
    }

    /** The fallback of a failed batch: each event in its own transaction, in order. */
    private void oneByOne(List<Ready> ready, Map<Ready, Outbound> answers) {
        for (Ready r : ready) {
            try {
                Decided decided = store.transaction(tx -> decideAll(tx, List.of(r)).get(0));
                answers.put(r, finish(r, decided));
            } catch (RuntimeException e) {
                String detail = "event " + r.event().eventId() + " from " + r.event().deviceId() + " could not be applied: "
                        + e.getMessage();
                metrics.countMalformed(APPLY_FAILED);
                warnOnce("malformed:" + APPLY_FAILED, detail + "; parked as a dead letter, not answered");
                if (parkedFailures.put(r.event().eventId(), Boolean.TRUE) != null) {
                    continue; // a resend of an event parked already: counted, not parked twice
                }
                try {
                    deadLetters.park(clock.instant(), r.topic(), r.event().deviceId(), APPLY_FAILED, detail, r.payload());
                } catch (RuntimeException parkFailed) {
                    // The database itself is gone: the rest would fail the same way, slowly. Left
                    // unanswered, the gateways send them again.
                    Logger.error("cannot park the failed event either ({}); the rest of the batch is left for "
                            + "redelivery", parkFailed.getMessage());
                    return;
                }
            }
        }
    }

    /** What checking a message found before any transaction: unusable (parked already), or ready to decide. */
    private sealed interface Checked permits Unusable, Ready {
    }

    private enum Unusable implements Checked {
        PARKED
    }

    /**
     * A decodable event from an admitted device. {@code reject} is set when its card fails the
     * checks (then it is recorded REJECTED with {@code detail}); otherwise {@code program} is the
     * card's program.
     */
    private record Ready(String topic, byte[] payload, StampEvent event, RejectReason reject, String detail,
            Program program) implements Checked {
    }

    private Checked check(String topic, byte[] payload) {
        Optional<String> topicDevice = topics.deviceOf(topic);
        if (topicDevice.isEmpty()) {
            malformed(topic, null, payload, SinkMetrics.TOPIC_MISMATCH, "a message on topic '" + topic
                    + "', which names no device");
            return Unusable.PARKED;
        }
        String device = topicDevice.get();
        if (!devices.admits(device)) {
            malformed(topic, device, payload, DeviceGate.KIND, "device '" + shorten(device) + "' is not admitted "
                    + "(not in devices.allowed, or revoked); its event is parked as a dead letter and not answered");
            return Unusable.PARKED;
        }
        StampEvent event;
        try {
            event = codec.decodeStampEvent(payload);
        } catch (MalformedMessageException e) {
            malformed(topic, device, payload, e.kind(), "device " + device + " sent a malformed stamp event: " + e.getMessage());
            return Unusable.PARKED;
        }
        if (!event.deviceId().equals(device)) {
            malformed(topic, device, payload, SinkMetrics.TOPIC_MISMATCH, "event " + shorten(event.eventId()) + " names device '"
                    + shorten(event.deviceId()) + "' but came on the topic of device '" + device + "'");
            return Unusable.PARKED;
        }
        CardCheck check = cards.verify(event.cardCode());
        if (check instanceof CardCheck.Invalid invalid) {
            return new Ready(topic, payload, event, invalid.reason(), invalid.detail(), null);
        }
        CardCode card = ((CardCheck.Valid) check).card();
        Program program = programs.get(card.programId());
        if (!card.cardId().equals(event.cardId()) || !card.programId().equals(event.programId())) {
            return new Ready(topic, payload, event, RejectReason.MALFORMED, "event says card " + shorten(event.cardId())
                    + " of program " + shorten(event.programId()) + " but its card code is card " + card.cardId()
                    + " of program " + card.programId(), null);
        }
        if (program == null) {
            return new Ready(topic, payload, event, RejectReason.UNKNOWN_PROGRAM, "card " + card.cardId()
                    + " is of program '" + card.programId() + "', which this sink does not run (configured: "
                    + String.join(", ", programs.keySet()) + ")", null);
        }
        return new Ready(topic, payload, event, null, null, program);
    }

    /**
     * Parks the events whose seq jumps more than {@link #MAX_SEQ_JUMP} beyond their device's highest
     * (stored, or earlier in this batch; 0 for a new device), replacing them in {@code checked}.
     * Judged before the transaction, against numbers read without a lock: they only ever rise, so a
     * stale read can refuse an event only if its device moved on by nearly the whole span meanwhile.
     */
    private void refuseSeqJumps(List<Checked> checked) {
        Set<String> devices = new HashSet<>();
        for (Checked c : checked) {
            if (c instanceof Ready r && sequenced(r.event().deviceId())) {
                devices.add(r.event().deviceId());
            }
        }
        if (devices.isEmpty()) {
            return;
        }
        Map<String, Long> highest = new java.util.HashMap<>(store.lastSeqs(devices));
        for (int i = 0; i < checked.size(); i++) {
            if (!(checked.get(i) instanceof Ready r) || !sequenced(r.event().deviceId())) {
                continue;
            }
            StampEvent e = r.event();
            long last = highest.getOrDefault(e.deviceId(), 0L);
            if (e.seq() - last <= MAX_SEQ_JUMP) {
                highest.put(e.deviceId(), Math.max(last, e.seq()));
                continue;
            }
            checked.set(i, Unusable.PARKED);
            String detail = "device " + e.deviceId() + " sent event " + e.eventId() + " with seq " + e.seq() + ", "
                    + (e.seq() - last) + " beyond its highest (" + last + "); more than " + MAX_SEQ_JUMP
                    + " is refused as forged or corrupt (a gap that large would never close)";
            if (parkedFailures.put(e.eventId(), Boolean.TRUE) != null) {
                metrics.countMalformed(SEQ_JUMP); // a resend: counted, not parked twice
                continue;
            }
            malformed(r.topic(), e.deviceId(), r.payload(), SEQ_JUMP, detail);
        }
    }

    /**
     * The database part of events, in order, inside the caller's transaction: a batch, or one event
     * (the POS route, the fallback), by the same code. The events already stored are read in one
     * query and the cards locked and read in one ({@link BatchView}); each event is then judged
     * against the cards as the events before it left them, and the rows are written in JDBC batches.
     * The sequence numbers come last ({@link #noteSeqs}).
     */
    private List<Decided> decideAll(SinkStore.Tx tx, List<Ready> ready) throws SQLException {
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
            if (!decided.get(i).redelivery() && sequenced(e.deviceId())) {
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

    /** Counts and logs what a committed transaction decided, and builds the answer. */
    private Outbound finish(Ready r, Decided decided) {
        StampEvent event = r.event();
        // Counted only after the commit: a failed transaction leaves the event to be sent again.
        StampAck ack = decided.ack();
        reportSeq(decided.seq());
        if (decided.redelivery()) {
            metrics.countDuplicate();
            Logger.debug("event {} from {} is a redelivery; answered {} without counting it again",
                    event.eventId(), event.deviceId(), ack.outcome());
        } else if (ack.outcome() == AckOutcome.ACCEPTED) {
            metrics.countAccepted();
            if (decided.flag() != null) {
                metrics.countFlagged(decided.flag());
                warnOnce("flag:" + decided.flag(), "event " + event.eventId() + " from " + event.deviceId() + " at "
                        + event.location() + ": card " + event.cardId() + " flagged " + decided.flag()
                        + " (counted, kept in the ledger)");
            }
            CardState c = ack.card();
            Logger.debug("event {} from {}: {} card {} now {}/{} stamps, {} rewards{}", event.eventId(),
                    event.deviceId(), event.kind(), c.cardId(), c.stamps(), c.stampsRequired(), c.rewardsAvailable(),
                    ack.rewardEarned() ? " (reward earned)" : "");
        } else {
            metrics.countRejected(ack.reason());
            warnOnce("reject:" + decided.storedReason(), "rejected event " + event.eventId() + " from "
                    + event.deviceId() + " (" + decided.storedReason() + "): " + decided.detail());
        }
        return new Outbound(topics.acks(event.deviceId()), codec.encode(ack), ack);
    }

    /**
     * Whether the device numbers its events 1, 2, 3 so that a missing number means a lost event.
     * The POS route's pseudo-devices ({@value #POS_DEVICE_PREFIX}location) send every event as seq
     * 1: for them there is no sequence to check, and no device row to lock.
     */
    static boolean sequenced(String deviceId) {
        return !deviceId.startsWith(POS_DEVICE_PREFIX);
    }

    /** What a transaction decided, handed out of it so that counting and logging follow the commit. */
    private record Decided(StampAck ack, boolean redelivery, String storedReason, String detail, String flag,
            SeqNote seq) {
        Decided(StampAck ack, boolean redelivery, String storedReason, String detail) {
            this(ack, redelivery, storedReason, detail, null, SeqNote.NONE);
        }

        Decided withSeq(SeqNote note) {
            return new Decided(ack, redelivery, storedReason, detail, flag, note);
        }
    }

    /** Once per gap: when it opens (WARN) and when a late event fills it (INFO); after the commit. */
    private void reportSeq(SeqNote note) {
        if (note.opened() != null) {
            SeqGap g = note.opened();
            metrics.countGapOpened();
            Logger.warn("device {}: sequence gap, events {}..{} ({} missing) not received; it closes if they arrive late",
                    g.deviceId(), g.from(), g.to(), g.missing());
        }
        if (note.filled() != null) {
            SeqGap g = note.filled();
            metrics.countGapFilled();
            Logger.info("device {}: a late event filled part of the gap {}..{}", g.deviceId(), g.from(), g.to());
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

    /**
     * Counts, logs once per kind and parks the message. Parking is best effort: a database failure
     * here is logged and the sink goes on (the message was unusable anyway, and gets no answer).
     */
    private void malformed(String topic, String device, byte[] payload, String kind, String detail) {
        metrics.countMalformed(kind);
        warnOnce("malformed:" + kind, detail);
        try {
            deadLetters.park(clock.instant(), topic, device, kind, detail, payload);
        } catch (RuntimeException e) {
            Logger.error("cannot park a dead letter of kind {} from {}: {}", kind, topic, e.getMessage());
        }
    }

    /** The first of a kind at WARN, the rest at DEBUG: one bad gateway must not flood the log. */
    private void warnOnce(String kind, String message) {
        if (warned.add(kind)) {
            Logger.warn("{} (further ones of this kind are logged at DEBUG and counted)", message);
        } else {
            Logger.debug(message);
        }
    }

    private static String shorten(String s) {
        return s.length() <= 80 ? s : s.substring(0, 80) + "...";
    }
}
