package app.sevenstamp.autopilot.sink.ingest;

import app.sevenstamp.autopilot.protocol.AckOutcome;
import app.sevenstamp.autopilot.protocol.CardState;
import app.sevenstamp.autopilot.protocol.RejectReason;
import app.sevenstamp.autopilot.protocol.StampAck;
import app.sevenstamp.autopilot.protocol.StampEvent;
import app.sevenstamp.autopilot.protocol.Topics;
import app.sevenstamp.autopilot.protocol.WireCodec;
import app.sevenstamp.autopilot.protocol.card.CardVerifier;
import app.sevenstamp.autopilot.sink.ingest.CardJudge.Decided;
import app.sevenstamp.autopilot.sink.ingest.EventChecks.Checked;
import app.sevenstamp.autopilot.sink.ingest.EventChecks.Ready;
import app.sevenstamp.autopilot.sink.metrics.SinkMetrics;
import app.sevenstamp.autopilot.sink.loyalty.Program;
import app.sevenstamp.autopilot.sink.store.LedgerHook;
import app.sevenstamp.autopilot.sink.store.SeqGap;
import app.sevenstamp.autopilot.sink.store.SeqNote;
import app.sevenstamp.autopilot.sink.store.SinkStore;
import java.time.Clock;
import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
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
 * {@link #process} one (the POS route). The two halves live apart: {@link EventChecks} does
 * everything before the transaction, {@link CardJudge} judges the events against their cards inside
 * it; this class runs the transaction, falls back to one event at a time, and counts, logs and builds
 * the answers after the commit.
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

    /** Stored as the reason of a redeem without an available reward; see {@link CardJudge#wireReason}. */
    static final String NO_REWARD = RejectReason.NO_REWARD.name();

    private final Topics topics;
    private final SinkStore store;
    private final SinkMetrics metrics;
    private final WireCodec codec;
    /** Before the transaction: decode, device, seq bounds, card code. */
    private final EventChecks checks;
    /** Inside it: each event against its card. */
    private final CardJudge judge;



    /** @param ledgerHook told of every ledger line an accepted event appends, inside its transaction (vouchers) */
    public EventProcessor(Topics topics, CardVerifier verifier, Map<String, Program> programs, SinkStore store,
            SinkMetrics metrics, Clock clock, WireCodec codec, DeviceGate devices, LedgerHook ledgerHook) {
        this.topics = Objects.requireNonNull(topics, "topics");
        this.store = Objects.requireNonNull(store, "store");
        this.metrics = Objects.requireNonNull(metrics, "metrics");
        this.codec = Objects.requireNonNull(codec, "codec");
        this.checks = new EventChecks(topics, verifier, programs, store, metrics, clock, codec, devices);
        this.judge = new CardJudge(programs, clock, ledgerHook);
    }

    /** Reads of devices' stored numbers for the seq bounds so far (most batches need none). */
    long seqReads() {
        return checks.seqReads();
    }

    /**
     * Decides one message in its own transaction (the POS route, and the tests).
     *
     * @throws app.sevenstamp.autopilot.sink.store.StoreException when the database fails; nothing
     *         was applied then, and the gateway will send the event again
     */
    public Optional<Outbound> process(String topic, byte[] payload) {
        List<Checked> checked = new ArrayList<>(List.of(checks.check(topic, payload)));
        checks.refuseSeqJumps(checked);
        if (!(checked.get(0) instanceof Ready ready)) {
            return Optional.empty();
        }
        Decided decided = store.transaction(tx -> judge.decideAll(tx, List.of(ready)).get(0));
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
     * with few round trips after that ({@link CardJudge#decideAll}); the device rows last. If the transaction fails anyway (a database error, an event
     * that cannot be written) nothing of it stays, and the events are decided again one by one, each
     * in its own transaction: an event that fails alone is parked as a dead letter of kind
     * {@value #APPLY_FAILED} and left unanswered, and the others commit.
     */
    public List<Optional<Outbound>> processBatch(List<Message> messages) {
        List<Checked> checked = new ArrayList<>(messages.size());
        for (Message m : messages) {
            checked.add(check(m));
        }
        return decide(checked);
    }

    /**
     * The checks of one message that need no transaction and no other message: its topic and device, its
     * decoding, its card code's signature. What {@link #processBatch} does first; the MQTT ingest does it on
     * a thread of its own, ahead of the transactions. An unusable message is parked here. A check that
     * throws (a bug, not a bad message) makes it {@link EventChecks.Unusable#CHECK_FAILED}: it costs that
     * message its answer, never the batch, and never the replay of the H2 redo log at a start (which runs
     * {@link #processBatch} again on what the log holds).
     */
    Checked check(Message m) {
        try {
            return checks.check(m.topic(), m.payload());
        } catch (RuntimeException e) {
            Logger.error(e, "cannot check a message on {}; left for redelivery", m.topic());
            return EventChecks.Unusable.CHECK_FAILED;
        }
    }

    /**
     * The rest of {@link #processBatch}, for messages {@link #check}ed already, in their order: the seq bounds
     * (which read the devices' numbers), then the one transaction. Returns one entry per message.
     */
    List<Optional<Outbound>> decide(List<Checked> checkedMessages) {
        List<Checked> checked = new ArrayList<>(checkedMessages); // refuseSeqJumps replaces entries
        List<Ready> ready = new ArrayList<>(checked.size());
        checks.refuseSeqJumps(checked);
        for (Checked c : checked) {
            if (c instanceof Ready r) {
                ready.add(r);
            }
        }
        Map<Ready, Outbound> answers = new IdentityHashMap<>();
        if (!ready.isEmpty()) {
            List<Decided> decided = null;
            try {
                decided = store.transaction(tx -> judge.decideAll(tx, ready));
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
        List<Optional<Outbound>> out = new ArrayList<>(checked.size());
        for (Checked c : checked) {
            out.add(c instanceof Ready r ? Optional.ofNullable(answers.get(r)) : Optional.empty());
        }
        return out;
    }

    /** The fallback of a failed batch: each event in its own transaction, in order. */
    private void oneByOne(List<Ready> ready, Map<Ready, Outbound> answers) {
        for (Ready r : ready) {
            try {
                Decided decided = store.transaction(tx -> judge.decideAll(tx, List.of(r)).get(0));
                answers.put(r, finish(r, decided));
            } catch (RuntimeException e) {
                String detail = "event " + r.event().eventId() + " from " + r.event().deviceId() + " could not be applied: "
                        + e.getMessage();
                metrics.countMalformed(APPLY_FAILED);
                checks.warnOnce("malformed:" + APPLY_FAILED, detail + "; parked as a dead letter, not answered");
                if (!checks.firstFailure(r.event().eventId())) {
                    continue; // a resend of an event parked already: counted, not parked twice
                }
                try {
                    checks.park(r.topic(), r.event().deviceId(), APPLY_FAILED, detail, r.payload());
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
                checks.warnOnce("flag:" + decided.flag(), "event " + event.eventId() + " from " + event.deviceId() + " at "
                        + event.location() + ": card " + event.cardId() + " flagged " + decided.flag()
                        + " (counted, kept in the ledger)");
            }
            CardState c = ack.card();
            Logger.debug("event {} from {}: {} card {} now {}/{} stamps, {} rewards{}", event.eventId(),
                    event.deviceId(), event.kind(), c.cardId(), c.stamps(), c.stampsRequired(), c.rewardsAvailable(),
                    ack.rewardEarned() ? " (reward earned)" : "");
        } else {
            metrics.countRejected(ack.reason());
            checks.warnOnce("reject:" + decided.storedReason(), "rejected event " + event.eventId() + " from "
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
}
