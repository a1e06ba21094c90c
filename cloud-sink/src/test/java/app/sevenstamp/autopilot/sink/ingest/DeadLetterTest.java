package app.sevenstamp.autopilot.sink.ingest;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import app.sevenstamp.autopilot.protocol.AckOutcome;
import app.sevenstamp.autopilot.protocol.Topics;
import app.sevenstamp.autopilot.protocol.WireCodec;
import app.sevenstamp.autopilot.protocol.testing.Vectors;
import app.sevenstamp.autopilot.sink.loyalty.Program;
import app.sevenstamp.autopilot.sink.loyalty.RewardPlan;
import app.sevenstamp.autopilot.sink.loyalty.StampRules;
import app.sevenstamp.autopilot.sink.metrics.SinkMetrics;
import app.sevenstamp.autopilot.sink.store.DeadLetters.DeadLetter;
import app.sevenstamp.autopilot.sink.store.DeadLetters;
import app.sevenstamp.autopilot.sink.store.LedgerHook;
import app.sevenstamp.autopilot.sink.store.SinkStore;
import app.sevenstamp.autopilot.sink.testing.Backend;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.Parameter;
import org.junit.jupiter.params.ParameterizedClass;
import org.junit.jupiter.params.provider.EnumSource;

/** Unusable messages are counted per kind, parked with their reason and payload, and the sink goes on. */
@ParameterizedClass
@EnumSource(Backend.class)
class DeadLetterTest {
    private static final Instant NOW = Instant.parse("2026-11-23T08:00:00Z");

    @Parameter
    Backend backend;

    @TempDir
    Path dir;
    private final Topics topics = new Topics(Topics.DEFAULT_PREFIX);
    private final SinkMetrics metrics = new SinkMetrics();
    private SinkStore store;
    private EventProcessor processor;

    @BeforeEach
    void open() {
        store = backend.fixture(dir).open();
        processor = new EventProcessor(topics, Vectors.verifier(), Map.of("coffee", new Program("coffee", "Coffee", 10, StampRules.NONE, RewardPlan.SIMPLE)),
                store, metrics, Clock.fixed(NOW, ZoneOffset.UTC), new WireCodec(), DeviceGate.listed(Set.of("counter-1")), LedgerHook.NONE);
    }

    @AfterEach
    void close() {
        store.close();
    }

    @Test
    void everyKindOfBadInputIsParkedCountedAndUnansweredAndAGoodEventStillGoesThrough() {
        byte[] good = Vectors.bytes("stamp-event.json");
        String goodText = new String(good, StandardCharsets.UTF_8);
        byte[] junk = "hello".getBytes(StandardCharsets.UTF_8);
        byte[] huge = new byte[DeadLetters.MAX_KEPT + 1000]; // beyond the codec's limit and what is kept
        Arrays.fill(huge, (byte) '{');
        byte[] future = goodText.replaceFirst("\"schema\"\\s*:\\s*1", "\"schema\":99").getBytes(StandardCharsets.UTF_8);
        assertTrue(new String(future, StandardCharsets.UTF_8).contains("\"schema\":99"), "the vector has schema 1");

        assertTrue(processor.process(topics.stamps("counter-1"), junk).isEmpty());
        assertTrue(processor.process(topics.stamps("counter-1"), huge).isEmpty());
        assertTrue(processor.process(topics.stamps("counter-1"), future).isEmpty());
        assertTrue(processor.process(topics.stamps("intruder-9"), good).isEmpty(), "a device that is not admitted");
        assertTrue(processor.process("7stamp/v1/nothing", good).isEmpty(), "a topic that names no device");
        assertTrue(processor.process(topics.stamps("counter-1"), junk).isEmpty(), "the same kind again");

        Outbound ok = processor.process(topics.stamps("counter-1"), good).orElseThrow();
        assertEquals(AckOutcome.ACCEPTED, ok.ack().outcome(), "the sink goes on after bad input");

        assertEquals(6, metrics.malformed());
        assertEquals(2, metrics.malformed("json"));
        assertEquals(1, metrics.malformed("size"));
        assertEquals(1, metrics.malformed("schema"));
        assertEquals(1, metrics.malformed(DeviceGate.KIND));
        assertEquals(1, metrics.malformed(SinkMetrics.TOPIC_MISMATCH));
        assertEquals(1, store.countEvents(), "bad input is never an event");

        DeadLetters parked = new DeadLetters(store);
        assertEquals(Map.of("json", 2L, "size", 1L, "schema", 1L, "device", 1L, "topic", 1L), parked.countByKind());
        List<DeadLetter> latest = parked.latest(10);
        assertEquals(6, latest.size());
        DeadLetter oversized = latest.stream().filter(d -> d.kind().equals("size")).findFirst().orElseThrow();
        assertEquals(huge.length, oversized.payloadSize());
        assertEquals(DeadLetters.MAX_KEPT, oversized.payload().length, "a huge payload is kept only in part");
        assertEquals(NOW, oversized.receivedAt());
        assertEquals("counter-1", oversized.deviceId());
        DeadLetter intruder = latest.stream().filter(d -> d.kind().equals("device")).findFirst().orElseThrow();
        assertEquals("intruder-9", intruder.deviceId());
        assertArrayEquals(good, intruder.payload(), "kept as it came, to be replayed once the device is admitted");
        assertEquals("device 'intruder-9' is not admitted (not in devices.allowed, or revoked); its event is parked as a "
                + "dead letter and not answered", intruder.detail());
        DeadLetter schema = latest.stream().filter(d -> d.kind().equals("schema")).findFirst().orElseThrow();
        assertTrue(schema.detail().contains("schema 99 is not supported"), schema.detail());
    }
}
