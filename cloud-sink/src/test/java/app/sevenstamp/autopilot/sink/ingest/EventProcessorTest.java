package app.sevenstamp.autopilot.sink.ingest;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import app.sevenstamp.autopilot.protocol.AckOutcome;
import app.sevenstamp.autopilot.protocol.EventKind;
import app.sevenstamp.autopilot.protocol.RejectReason;
import app.sevenstamp.autopilot.protocol.StampAck;
import app.sevenstamp.autopilot.protocol.StampEvent;
import app.sevenstamp.autopilot.protocol.Topics;
import app.sevenstamp.autopilot.protocol.WireCodec;
import app.sevenstamp.autopilot.protocol.testing.Vectors;
import app.sevenstamp.autopilot.sink.loyalty.Program;
import app.sevenstamp.autopilot.sink.loyalty.RewardPlan;
import app.sevenstamp.autopilot.sink.loyalty.StampRules;
import app.sevenstamp.autopilot.sink.metrics.SinkMetrics;
import app.sevenstamp.autopilot.sink.store.LedgerHook;
import app.sevenstamp.autopilot.sink.store.SinkStore;
import app.sevenstamp.autopilot.sink.testing.Backend;
import app.sevenstamp.autopilot.sink.testing.TestIds;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.Parameter;
import org.junit.jupiter.params.ParameterizedClass;
import org.junit.jupiter.params.provider.EnumSource;

/** The sink's decisions on the real store (H2 and PostgreSQL), checked against the wire contract's golden vectors. */
@ParameterizedClass
@EnumSource(Backend.class)
class EventProcessorTest {
    private static final String DEVICE = "counter-1";
    private static final String CARD = "ABCDEFGHJKMNPQRS";
    private static final Instant NOW = Instant.parse("2026-11-23T08:00:00Z");
    private static final Instant GOLDEN_TIME = Instant.parse("2026-11-23T07:02:11.345Z");

    private final Topics topics = new Topics(Topics.DEFAULT_PREFIX);
    private final WireCodec codec = new WireCodec();
    private final ObjectMapper json = new ObjectMapper();
    private final SinkMetrics metrics = new SinkMetrics();

    @Parameter
    Backend backend;

    @TempDir
    Path dir;
    private SinkStore store;
    private EventProcessor processor;

    private Backend.Fixture fixture;

    @BeforeEach
    void setUp() {
        fixture = backend.fixture(dir);
        open();
    }

    /** Opens the test's one database (again, in restart tests). */
    void open() {
        store = fixture.open();
        processor = new EventProcessor(topics, Vectors.verifier(), Map.of("coffee", new Program("coffee", "Coffee", 10, StampRules.NONE, RewardPlan.SIMPLE)),
                store, metrics, Clock.fixed(NOW, ZoneOffset.UTC), codec, DeviceGate.ANY, LedgerHook.NONE);
    }

    @AfterEach
    void close() {
        store.close();
    }

    private static StampEvent event(String id, long seq, String code, EventKind kind, Instant at, boolean synced) {
        String[] parts = code.split("\\.");
        return new StampEvent(WireCodec.SCHEMA, TestIds.event(id), DEVICE, seq, code, parts.length > 2 ? parts[2] : "x",
                parts.length > 3 ? parts[3] : "X", "shop-12", at, 1, "boot", synced, kind);
    }

    private Optional<Outbound> send(StampEvent e) {
        return send(codec.encode(e));
    }

    private Optional<Outbound> send(byte[] payload) {
        return processor.process(topics.stamps(DEVICE), payload);
    }

    private StampAck ack(StampEvent e) {
        Outbound out = send(e).orElseThrow();
        assertEquals(topics.acks(DEVICE), out.topic());
        return out.ack();
    }

    private void assertJson(String vector, Outbound out) throws Exception {
        assertEquals(Vectors.json(vector), json.readTree(out.payload()), vector);
    }

    @Test
    void theTenthStampIsAnsweredExactlyLikeTheGoldenAckAndItsRedeliveryLikeTheGoldenDuplicate() throws Exception {
        String code = Vectors.cardText("valid");
        for (int i = 1; i <= 9; i++) {
            StampAck a = ack(event("before-" + i, i, code, EventKind.STAMP, GOLDEN_TIME.minusSeconds(3600L * i), true));
            assertEquals(AckOutcome.ACCEPTED, a.outcome());
            assertEquals(i, a.card().stamps());
        }
        byte[] golden = Vectors.bytes("stamp-event.json");
        assertJson("ack-accepted.json", send(golden).orElseThrow());
        assertJson("ack-duplicate.json", send(golden).orElseThrow());

        assertEquals(10, metrics.accepted());
        assertEquals(1, metrics.duplicates());
        assertEquals(10, store.countEvents());
        assertEquals(1, store.card(CARD).orElseThrow().balance().rewardsAvailable());
        assertEquals(42L, store.lastSeq(DEVICE).orElseThrow());
    }

    @Test
    void aValidCardOfAProgramTheSinkDoesNotRunIsAnsweredLikeTheGoldenReject() throws Exception {
        StampEvent tea = event("019ab0f2-6d00-7b22-8e11-0a1b2c3d4e5f", 43,
                Vectors.cardText("valid signature, program the gateway does not run"), EventKind.STAMP, GOLDEN_TIME, true);
        assertJson("ack-rejected.json", send(tea).orElseThrow());
        assertEquals("UNKNOWN_PROGRAM", store.event(tea.eventId()).orElseThrow().reason());
        assertTrue(store.card(CARD).isEmpty(), "a rejected event creates no card");

        StampAck again = ack(tea);
        assertEquals(AckOutcome.REJECTED, again.outcome(), "a redelivered reject is rejected again");
        assertEquals(RejectReason.UNKNOWN_PROGRAM, again.reason());
        assertEquals(1, metrics.rejected());
        assertEquals(1, metrics.duplicates());
        assertEquals(1, metrics.rejected(RejectReason.UNKNOWN_PROGRAM));
    }

    @Test
    void cardCodesAreVerifiedAgainWithTheSinksOwnKey() {
        StampAck forged = ack(event("forged", 1, Vectors.cardText("forged: signed by another key under the trusted key id"),
                EventKind.STAMP, GOLDEN_TIME, true));
        assertEquals(RejectReason.BAD_SIGNATURE, forged.reason());
        assertNull(forged.card());
        StampAck altered = ack(event("altered", 2, Vectors.cardText("altered card id"), EventKind.STAMP, GOLDEN_TIME, true));
        assertEquals(RejectReason.BAD_SIGNATURE, altered.reason());
        StampAck unknownKey = ack(event("k9", 3, Vectors.cardText("unknown key id"), EventKind.STAMP, GOLDEN_TIME, true));
        assertEquals(RejectReason.UNKNOWN_KEY, unknownKey.reason());
        StampAck junk = ack(event("junk", 4, "4006381333931", EventKind.STAMP, GOLDEN_TIME, true));
        assertEquals(RejectReason.MALFORMED, junk.reason());

        assertEquals(4, metrics.rejected());
        assertEquals(2, metrics.rejected(RejectReason.BAD_SIGNATURE));
        assertEquals(4, store.countEvents(), "rejects are recorded, so a redelivery gets the same answer");
        assertEquals(0, store.countCards());
        assertEquals(4L, store.lastSeq(DEVICE).orElseThrow(), "rejects count for gap detection too");
    }

    @Test
    void anEventWhoseFieldsDisagreeWithItsCardCodeIsRejected() {
        StampEvent lying = new StampEvent(WireCodec.SCHEMA, TestIds.event("lying"), DEVICE, 1, Vectors.cardText("valid"), "coffee",
                "ZZZZ2222YYYY3333", "shop-12", GOLDEN_TIME, 1, "boot", true, EventKind.STAMP);
        assertEquals(RejectReason.MALFORMED, ack(lying).reason());
        assertEquals(0, store.countCards());
    }

    @Test
    void everyMalformedVectorIsCountedByKindAndNeitherStoredNorAnswered() {
        int n = 0;
        for (Vectors.MalformedCase c : Vectors.malformedCases()) {
            assertTrue(send(c.payload()).isEmpty(), c.name());
            n++;
            assertEquals(n, metrics.malformed(), c.name());
        }
        assertEquals(3, metrics.malformed("json"));
        assertEquals(3, metrics.malformed("schema"));
        assertEquals(4, metrics.malformed("field"));
        assertEquals(1, metrics.malformed("size"));
        assertEquals(0, store.countEvents());
        assertEquals(AckOutcome.ACCEPTED, ack(event("after", 1, Vectors.cardText("valid"), EventKind.STAMP, NOW, true))
                .outcome(), "a valid event right after is accepted");
    }

    @Test
    void aDeviceCannotStampInAnotherDevicesName() {
        byte[] golden = Vectors.bytes("stamp-event.json"); // deviceId counter-1
        assertTrue(processor.process(topics.stamps("counter-2"), golden).isEmpty());
        assertTrue(processor.process("7stamp/v1/other", golden).isEmpty());
        assertEquals(2, metrics.malformed(SinkMetrics.TOPIC_MISMATCH));
        assertEquals(0, store.countEvents());
    }

    /** Issue 12, item 5: an event id outside the contract's format was stored, counted and shown on pages. */
    @Test
    void anEventIdThatIsNotALowercaseUuidIsADeadLetterAndTheSinkGoesOn() {
        String code = Vectors.cardText("valid");
        String[] p = code.split("\\.");
        List<String> bad = List.of("../../etc/passwd<script>", "x".repeat(65), "with space",
                "019AB0F2-5C3E-7A41-9C1D-2F6B8E4A7D10");
        for (String id : bad) {
            StampEvent e = new StampEvent(WireCodec.SCHEMA, id, DEVICE, 1, code, p[2], p[3], "shop-12", NOW, 1, "boot", true,
                    EventKind.STAMP);
            assertTrue(send(e).isEmpty(), id);
        }
        assertEquals(bad.size(), metrics.malformed("field"));
        assertEquals(Map.of("field", (long) bad.size()),
                new app.sevenstamp.autopilot.sink.store.DeadLetters(store).countByKind());
        assertEquals(0, store.countEvents());
        assertEquals(AckOutcome.ACCEPTED, ack(event("after", 1, code, EventKind.STAMP, NOW, true)).outcome());
    }

    @Test
    void aRedeemSpendsARewardAndIsRefusedWithoutOne() {
        String code = Vectors.cardText("valid");
        StampAck refused = ack(event("redeem-0", 1, code, EventKind.REDEEM, NOW, true));
        assertEquals(AckOutcome.REJECTED, refused.outcome());
        assertEquals(RejectReason.NO_REWARD, refused.reason());
        assertEquals("NO_REWARD", store.event(TestIds.event("redeem-0")).orElseThrow().reason());
        for (int i = 1; i <= 10; i++) {
            ack(event("s" + i, i + 1, code, EventKind.STAMP, NOW, true));
        }
        StampAck redeemed = ack(event("redeem-1", 12, code, EventKind.REDEEM, NOW.plusSeconds(60), true));
        assertEquals(AckOutcome.ACCEPTED, redeemed.outcome());
        assertEquals(0, redeemed.card().rewardsAvailable());
        assertEquals(NOW, redeemed.card().lastStampAt(), "a redeem is not a stamp");
        StampAck refusedAgain = ack(event("redeem-2", 13, code, EventKind.REDEEM, NOW, true));
        assertEquals(AckOutcome.REJECTED, refusedAgain.outcome());
        assertEquals(0, refusedAgain.card().rewardsAvailable());
    }

    @Test
    void anUnsynchronisedGatewayClockIsReplacedByTheSinksClock() {
        Instant epoch = Instant.parse("1970-01-01T00:01:00Z");
        StampAck a = ack(event("unsynced", 1, Vectors.cardText("valid"), EventKind.STAMP, epoch, false));
        assertEquals(NOW, a.card().lastStampAt());
        assertEquals(epoch, store.event(TestIds.event("unsynced")).orElseThrow().deviceTime(), "the device's own time is still recorded");
    }

    @Test
    void aLateEventDoesNotMoveTheLastStampBackwards() {
        String code = Vectors.cardText("valid");
        ack(event("new", 2, code, EventKind.STAMP, GOLDEN_TIME, true));
        StampAck late = ack(event("old", 1, code, EventKind.STAMP, GOLDEN_TIME.minusSeconds(600), true));
        assertEquals(2, late.card().stamps());
        assertEquals(GOLDEN_TIME, late.card().lastStampAt());
    }

    @Test
    void sequenceGapsAreRecordedOnceAndClosedWhenTheMissingEventsArriveLate() {
        String code = Vectors.cardText("valid");
        ack(event("g1", 1, code, EventKind.STAMP, NOW, true));
        ack(event("g5", 5, code, EventKind.STAMP, NOW, true));
        assertEquals(List.of("2..4"), gaps());
        assertEquals(1, metrics.gapsOpened());

        ack(event("g5", 5, code, EventKind.STAMP, NOW, true)); // a redelivery changes nothing
        ack(event("g3", 3, code, EventKind.STAMP, NOW, true)); // the middle arrives late: two smaller gaps
        assertEquals(List.of("2..2", "4..4"), gaps());
        ack(event("g2", 2, code, EventKind.STAMP, NOW, true));
        ack(event("g4", 4, code, EventKind.STAMP, NOW, true));
        assertEquals(List.of(), gaps());
        assertEquals(1, metrics.gapsOpened(), "one gap, detected once");
        assertEquals(3, metrics.gapsFilled());
        assertEquals(5, store.lastSeq(DEVICE).getAsLong());
        assertEquals(0, store.gapTotals()[0]);
    }

    @Test
    void aGapSurvivesARestartOfTheSink() {
        String code = Vectors.cardText("valid");
        ack(event("r1", 1, code, EventKind.STAMP, NOW, true));
        ack(event("r3", 3, code, EventKind.STAMP, NOW, true));
        store.close();
        open();
        assertEquals(List.of("2..2"), gaps());
        ack(event("r2", 2, code, EventKind.STAMP, NOW, true));
        assertEquals(List.of(), gaps());
    }

    private List<String> gaps() {
        return store.gaps(DEVICE).stream().map(g -> g.from() + ".." + g.to()).toList();
    }
}
