package app.sevenstamp.autopilot.sink.ingest;

import app.sevenstamp.autopilot.protocol.MalformedMessageException;
import app.sevenstamp.autopilot.protocol.RejectReason;
import app.sevenstamp.autopilot.protocol.StampEvent;
import app.sevenstamp.autopilot.protocol.Topics;
import app.sevenstamp.autopilot.protocol.WireCodec;
import app.sevenstamp.autopilot.protocol.card.CardCheck;
import app.sevenstamp.autopilot.protocol.card.CardCode;
import app.sevenstamp.autopilot.protocol.card.CardVerifier;
import app.sevenstamp.autopilot.sink.metrics.SinkMetrics;
import app.sevenstamp.autopilot.sink.loyalty.Program;
import app.sevenstamp.autopilot.sink.store.DeadLetters;
import app.sevenstamp.autopilot.sink.store.SinkStore;
import java.time.Clock;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import org.tinylog.Logger;

/**
 * The first half of deciding a message (see {@link EventProcessor}): everything checked before any
 * transaction. The topic names an admitted device, the payload decodes, the event's device is the
 * topic's, its seq jumps at most {@link EventProcessor#MAX_SEQ_JUMP} (these failures are parked as
 * dead letters and counted as malformed, never answered); then the card code verifies with the
 * sink's own key, names the event's card and program, and the program is configured (these failures
 * make a {@link Ready} with its rejection, stored and answered REJECTED by {@link CardJudge}).
 *
 * <p>Thread-safe like {@link EventProcessor}, whose threads call it; the parked-failure memory is
 * the ingest thread's.
 */
final class EventChecks {
    private static final int PARKED_FAILURES_REMEMBERED = 4096;
    /** Devices whose stored number is remembered; past it the memory starts over (a fleet has far fewer). */
    static final int DEVICES_REMEMBERED = 100_000;

    private final Topics topics;
    private final VerifiedCards cards;
    private final Map<String, Program> programs;
    private final SinkStore store;
    private final SinkMetrics metrics;
    private final Clock clock;
    private final WireCodec codec;
    private final DeviceGate devices;
    private final DeadLetters deadLetters;
    private final Set<String> warned = ConcurrentHashMap.newKeySet();
    /**
     * Each device's highest stored number as last read: a lower bound, since the stored numbers only rise
     * ({@code GREATEST} in the store, device rows never deleted), also when another sink instance stores
     * after the read. An event within {@link EventProcessor#MAX_SEQ_JUMP} of it is within the span of the
     * stored number too, so only a device that is new here or seems to jump is read again: one round
     * trip a batch less (the batch's read of the devices' numbers, docs/perf/sink-ingest.md).
     */
    private final Map<String, Long> storedAtLeast = new ConcurrentHashMap<>();
    private final AtomicLong seqReads = new AtomicLong();
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

    EventChecks(Topics topics, CardVerifier verifier, Map<String, Program> programs, SinkStore store, SinkMetrics metrics,
            Clock clock, WireCodec codec, DeviceGate devices) {
        this.topics = Objects.requireNonNull(topics, "topics");
        this.cards = new VerifiedCards(Objects.requireNonNull(verifier, "verifier"), VerifiedCards.DEFAULT_CAPACITY);
        this.programs = Objects.requireNonNull(programs, "programs"); // not copied: the console's live view (ProgramBook)
        this.store = Objects.requireNonNull(store, "store");
        this.metrics = Objects.requireNonNull(metrics, "metrics");
        this.clock = Objects.requireNonNull(clock, "clock");
        this.codec = Objects.requireNonNull(codec, "codec");
        this.devices = Objects.requireNonNull(devices, "devices");
        this.deadLetters = new DeadLetters(store);
    }

    /** What checking a message found before any transaction: unusable (parked already), or ready to decide. */
    sealed interface Checked permits Unusable, Ready {
    }

    enum Unusable implements Checked {
        /** Parked as a dead letter, counted as malformed; never answered. */
        PARKED,
        /** The check itself failed unexpectedly (a bug): not parked, not answered, so the gateway sends it again. */
        CHECK_FAILED
    }

    /**
     * A decodable event from an admitted device. {@code reject} is set when its card fails the
     * checks (then it is recorded REJECTED with {@code detail}); otherwise {@code program} is the
     * card's program.
     */
    record Ready(String topic, byte[] payload, StampEvent event, RejectReason reject, String detail,
            Program program) implements Checked {
    }

    Checked check(String topic, byte[] payload) {
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
     * Parks the events whose seq jumps more than {@link EventProcessor#MAX_SEQ_JUMP} beyond their device's highest
     * (stored, or earlier in this batch; 0 for a new device), replacing them in {@code checked}.
     * Judged before the transaction, against numbers read without a lock: they only ever rise, so a
     * stale read can refuse an event only if its device moved on by nearly the whole span meanwhile.
     * The numbers are read only for the devices that {@link #storedAtLeast} cannot vouch for.
     */
    void refuseSeqJumps(List<Checked> checked) {
        Set<String> unsure = new HashSet<>();
        Map<String, Long> highest = new java.util.HashMap<>();
        for (Checked c : checked) {
            if (c instanceof Ready r && EventProcessor.sequenced(r.event().deviceId())) {
                String device = r.event().deviceId();
                Long known = storedAtLeast.get(device);
                if (known == null || r.event().seq() - known > EventProcessor.MAX_SEQ_JUMP) {
                    unsure.add(device);
                } else {
                    highest.putIfAbsent(device, known);
                }
            }
        }
        if (!unsure.isEmpty()) {
            Map<String, Long> read = store.lastSeqs(unsure);
            seqReads.incrementAndGet();
            if (storedAtLeast.size() + unsure.size() > DEVICES_REMEMBERED) {
                storedAtLeast.clear();
            }
            for (String device : unsure) {
                long stored = read.getOrDefault(device, 0L);
                highest.put(device, stored);
                storedAtLeast.merge(device, stored, Math::max);
            }
        }
        if (highest.isEmpty()) {
            return;
        }
        for (int i = 0; i < checked.size(); i++) {
            if (!(checked.get(i) instanceof Ready r) || !EventProcessor.sequenced(r.event().deviceId())) {
                continue;
            }
            StampEvent e = r.event();
            long last = highest.getOrDefault(e.deviceId(), 0L);
            if (e.seq() - last <= EventProcessor.MAX_SEQ_JUMP) {
                highest.put(e.deviceId(), Math.max(last, e.seq()));
                continue;
            }
            checked.set(i, Unusable.PARKED);
            String detail = "device " + e.deviceId() + " sent event " + e.eventId() + " with seq " + e.seq() + ", "
                    + (e.seq() - last) + " beyond its highest (" + last + "); more than " + EventProcessor.MAX_SEQ_JUMP
                    + " is refused as forged or corrupt (a gap that large would never close)";
            if (parkedFailures.put(e.eventId(), Boolean.TRUE) != null) {
                metrics.countMalformed(EventProcessor.SEQ_JUMP); // a resend: counted, not parked twice
                continue;
            }
            malformed(r.topic(), e.deviceId(), r.payload(), EventProcessor.SEQ_JUMP, detail);
        }
    }

    /** Reads of devices' stored numbers so far (one per batch that had a device to read). */
    long seqReads() {
        return seqReads.get();
    }

    /** Remembers an event parked as unappliable; false when it was parked already (a resend: not parked twice). */
    boolean firstFailure(String eventId) {
        return parkedFailures.put(eventId, Boolean.TRUE) == null;
    }

    /** Parks a message that could not be applied; throws when the database is gone. */
    void park(String topic, String deviceId, String kind, String detail, byte[] payload) {
        deadLetters.park(clock.instant(), topic, deviceId, kind, detail, payload);
    }

    /**
     * Counts, logs once per kind and parks the message. Parking is best effort: a database failure
     * here is logged and the sink goes on (the message was unusable anyway, and gets no answer).
     */
    void malformed(String topic, String device, byte[] payload, String kind, String detail) {
        metrics.countMalformed(kind);
        warnOnce("malformed:" + kind, detail);
        try {
            deadLetters.park(clock.instant(), topic, device, kind, detail, payload);
        } catch (RuntimeException e) {
            Logger.error("cannot park a dead letter of kind {} from {}: {}", kind, topic, e.getMessage());
        }
    }

    /** The first of a kind at WARN, the rest at DEBUG: one bad gateway must not flood the log. */
    void warnOnce(String kind, String message) {
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
