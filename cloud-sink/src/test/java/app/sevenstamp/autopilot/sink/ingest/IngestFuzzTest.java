package app.sevenstamp.autopilot.sink.ingest;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;

import app.sevenstamp.autopilot.protocol.MalformedMessageException;
import app.sevenstamp.autopilot.protocol.StampAck;
import app.sevenstamp.autopilot.protocol.StampEvent;
import app.sevenstamp.autopilot.protocol.Topics;
import app.sevenstamp.autopilot.protocol.WireCodec;
import app.sevenstamp.autopilot.protocol.testing.MutableClock;
import app.sevenstamp.autopilot.protocol.testing.Vectors;
import app.sevenstamp.autopilot.sink.loyalty.Program;
import app.sevenstamp.autopilot.sink.loyalty.RewardPlan;
import app.sevenstamp.autopilot.sink.loyalty.StampRules;
import app.sevenstamp.autopilot.sink.metrics.SinkMetrics;
import app.sevenstamp.autopilot.sink.store.LedgerHook;
import app.sevenstamp.autopilot.sink.store.SinkStore;
import app.sevenstamp.autopilot.sink.testing.FuzzStores;
import com.code_intelligence.jazzer.junit.FuzzTest;
import java.time.Instant;
import java.util.Map;
import java.util.Optional;

/**
 * Jazzer target for what every box sends and every POS stamp becomes: a payload on a device's stamps topic,
 * decided by the real {@link EventProcessor} on an H2 store (the POS route builds a stamp event from its JSON
 * body and hands its encoding to the same {@code process}). Properties: nothing a box sends makes it throw;
 * a payload that is not a valid event gets no answer (it is dead-lettered); an answered one is answered with
 * an ack for that very event id, which the box can decode.
 */
class IngestFuzzTest {
    private static final String DEVICE = "counter-1";
    private static final Topics TOPICS = new Topics(Topics.DEFAULT_PREFIX);
    private static final WireCodec CODEC = new WireCodec();
    private static EventProcessor processor;

    private static synchronized EventProcessor processor() {
        if (processor == null) {
            SinkStore store = FuzzStores.open("ingest-fuzz");
            processor = new EventProcessor(TOPICS, Vectors.verifier(), Map.of("coffee", new Program("coffee", "Coffee", 10, StampRules.NONE, RewardPlan.SIMPLE)),
                    store, new SinkMetrics(), new MutableClock(Instant.parse("2026-11-23T08:00:00Z")), CODEC, DeviceGate.ANY, LedgerHook.NONE);
        }
        return processor;
    }

    @FuzzTest(maxDuration = "10s")
    void everyPayloadIsAckedForItsOwnEventOrDeadLettered(byte[] payload) throws MalformedMessageException {
        Optional<Outbound> answer = processor().process(TOPICS.stamps(DEVICE), payload);
        if (answer.isEmpty()) {
            return;
        }
        StampEvent event = CODEC.decodeStampEvent(payload); // answered, so it must have been a valid event
        StampAck ack = CODEC.decodeAck(answer.get().payload());
        assertNotNull(ack.outcome());
        assertEquals(event.eventId(), ack.eventId());
    }
}
