package app.sevenstamp.autopilot.protocol;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import app.sevenstamp.autopilot.protocol.testing.Vectors;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Arrays;
import java.util.ArrayList;
import java.time.Instant;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.ThrowingSupplier;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class WireCodecTest {
    private final WireCodec codec = new WireCodec();
    private final ObjectMapper json = new ObjectMapper();

    @Test
    void stampEventVectorDecodesToEveryField() throws Exception {
        StampEvent e = codec.decodeStampEvent(Vectors.bytes("stamp-event.json"));
        assertEquals(1, e.schema());
        assertEquals("019ab0f2-5c3e-7a41-9c1d-2f6b8e4a7d10", e.eventId());
        assertEquals("counter-1", e.deviceId());
        assertEquals(42, e.seq());
        assertEquals("coffee", e.programId());
        assertEquals("ABCDEFGHJKMNPQRS", e.cardId());
        assertEquals("shop-12", e.location());
        assertEquals(Instant.parse("2026-11-23T07:02:11.345Z"), e.deviceTime());
        assertEquals(93847561234L, e.monotonicNanos());
        assertTrue(e.clockSynced());
        assertEquals(EventKind.STAMP, e.kind());
    }

    @ParameterizedTest
    @ValueSource(strings = {"stamp-event.json", "ack-accepted.json", "ack-duplicate.json", "ack-rejected.json",
            "status-online.json", "status-offline.json"})
    void everyVectorSurvivesARoundTripUnchanged(String vector) throws Exception {
        Class<?> type = vector.startsWith("stamp") ? StampEvent.class
                : vector.startsWith("ack") ? StampAck.class : DeviceStatus.class;
        Object decoded = codec.decode(Vectors.bytes(vector), type);
        assertEquals(json.readTree(Vectors.bytes(vector)), json.readTree(codec.encode(decoded)),
                "re-encoding " + vector + " must give the same JSON tree");
    }

    /** The golden stamp event with one field replaced by a raw JSON value. */
    private byte[] stampEventWith(String field, String rawJson) throws Exception {
        com.fasterxml.jackson.databind.node.ObjectNode tree =
                (com.fasterxml.jackson.databind.node.ObjectNode) json.readTree(Vectors.bytes("stamp-event.json"));
        tree.set(field, json.readTree(rawJson));
        return json.writeValueAsBytes(tree);
    }

    @ParameterizedTest
    @ValueSource(strings = {
            "eventId=\"../../etc/passwd<script>\"",
            "eventId=\"019AB0F2-5C3E-7A41-9C1D-2F6B8E4A7D10\"",
            "eventId=\"{019ab0f2-5c3e-7a41-9c1d-2f6b8e4a7d10}\"",
            "eventId=\"\"",
            "seq=9223372036854775807",
            "seq=9007199254740992",
            "deviceId=\"counter-1/../x\"",
            "location=\"<b>shop</b>\"",
            "bootId=\"%s\"",
            "cardCode=\"%s\"",
            "programId=\"%s\"",
            "cardId=\"%s\"",
            // a field of another JSON type; Jackson's data binding, as this codec used it before, read the first
            // seven as a value: "42" and 42.9 as 42, 1e3 as 1000, "true" and 1 as true, 5 as "5", 0 as STAMP
            "seq=\"42\"",
            "seq=42.9",
            "seq=1e3",
            "clockSynced=\"true\"",
            "clockSynced=1",
            "cardCode=5",
            "kind=0",
            "seq=null",
            "cardCode={\"a\":1}",
            "cardCode=[\"x\"]",
            "deviceTime=1795420800",
            "monotonicNanos=99999999999999999999"})
    void stampEventFieldsOutsideTheirDocumentedFormatAreMalformed(String change) throws Exception {
        String[] kv = change.split("=", 2);
        String raw = kv[1].replace("%s", "x".repeat(2000));
        MalformedMessageException e = assertThrows(MalformedMessageException.class,
                () -> codec.decodeStampEvent(stampEventWith(kv[0], raw)));
        assertEquals("field", e.kind());
        assertTrue(e.getMessage().contains(kv[0]), e.getMessage());
    }

    @Test
    void stampEventAtTheEdgesOfItsRangesDecodes() throws Exception {
        assertEquals(WireCodec.MAX_SEQ, codec.decodeStampEvent(stampEventWith("seq", "9007199254740991")).seq());
        assertEquals("a".repeat(64), codec.decodeStampEvent(stampEventWith("bootId", "\"" + "a".repeat(64) + "\"")).bootId());
        String uuid = EventIds.next(System.currentTimeMillis());
        assertEquals(uuid, codec.decodeStampEvent(stampEventWith("eventId", "\"" + uuid + "\"")).eventId());
    }

    @Test
    void ackVectorsCarryOutcomeReasonAndCard() throws Exception {
        StampAck accepted = codec.decodeAck(Vectors.bytes("ack-accepted.json"));
        assertEquals(AckOutcome.ACCEPTED, accepted.outcome());
        assertTrue(accepted.rewardEarned());
        assertEquals(1, accepted.card().rewardsAvailable());
        assertEquals(10, accepted.card().stampsRequired());
        StampAck rejected = codec.decodeAck(Vectors.bytes("ack-rejected.json"));
        assertEquals(RejectReason.UNKNOWN_PROGRAM, rejected.reason());
        assertNull(rejected.card());
    }

    @Test
    void onlineStatusCarriesTheStorageAlarmRulesVersionVoucherCancelsAndDroppedScans() throws Exception {
        DeviceStatus s = codec.decodeStatus(Vectors.bytes("status-online.json"));
        assertEquals("ok", s.storage());
        assertEquals(1795420800L, s.rulesVersion());
        assertEquals(0, s.voucherCancels());
        assertEquals(3L, s.droppedScans());
    }

    @Test
    void offlineStatusLeavesTheLaterFieldsUnreported() throws Exception {
        DeviceStatus s = codec.decodeStatus(Vectors.bytes("status-offline.json"));
        assertNull(s.storage());
        assertNull(s.rulesVersion());
        assertNull(s.voucherCancels());
        assertNull(s.droppedScans());
    }

    @Test
    void offlineStatusVectorIsTheLastWillShape() throws Exception {
        DeviceStatus s = codec.decodeStatus(Vectors.bytes("status-offline.json"));
        assertFalse(s.online());
        assertNull(s.cpuTemperatureC(), "unknown temperature is null on the wire");
    }

    @Test
    void anOlderGatewaysNaNTemperatureIsReadAsUnknown() throws Exception {
        String old = new String(Vectors.bytes("status-offline.json"), StandardCharsets.UTF_8)
                .replace("\"diskFreeBytes\": -1", "\"diskFreeBytes\": -1, \"cpuTemperatureC\": \"NaN\"");
        assertTrue(old.contains("\"NaN\""), old);
        DeviceStatus read = codec.decodeStatus(old.getBytes(StandardCharsets.UTF_8));
        assertNull(read.cpuTemperatureC());
        String written = new String(codec.encode(read), StandardCharsets.UTF_8);
        assertFalse(written.contains("NaN"), written);
    }

    @Test
    void unknownFieldsFromANewerPeerAreIgnored() throws Exception {
        String withExtra = new String(Vectors.bytes("stamp-event.json"), StandardCharsets.UTF_8)
                .replaceFirst("\\{", "{\"futureField\": {\"a\": [1, 2]}, ");
        assertEquals(42, codec.decodeStampEvent(withExtra.getBytes(StandardCharsets.UTF_8)).seq());
    }

    @Test
    void aRejectReasonFromANewerSinkStillDecodes() throws Exception {
        String newer = new String(Vectors.bytes("ack-rejected.json"), StandardCharsets.UTF_8)
                .replace("UNKNOWN_PROGRAM", "SOMETHING_NEW");
        assertEquals(RejectReason.OTHER, codec.decodeAck(newer.getBytes(StandardCharsets.UTF_8)).reason());
    }

    @Test
    void everyMalformedVectorIsRefusedWithItsKind() {
        for (Vectors.MalformedCase c : Vectors.malformedCases()) {
            MalformedMessageException e = assertThrows(MalformedMessageException.class,
                    () -> codec.decodeStampEvent(c.payload()), c.name());
            assertEquals(c.kind(), e.kind(), c.name() + ": " + e.getMessage());
        }
    }

    @Test
    void oversizedPayloadIsRefusedBeforeParsing() {
        byte[] big = new byte[WireCodec.MAX_PAYLOAD_BYTES + 1];
        MalformedMessageException e = assertThrows(MalformedMessageException.class, () -> codec.decodeStampEvent(big));
        assertEquals("StampEvent: payload of 16385 bytes exceeds the limit of 16384", e.getMessage());
    }

    @Test
    void aMissingFieldIsNamedWithoutJacksonAdvice() {
        MalformedMessageException e = assertThrows(MalformedMessageException.class,
                () -> codec.decodeStampEvent(Vectors.malformedCases().stream()
                        .filter(c -> c.name().equals("missing fields")).findFirst().orElseThrow().payload()));
        assertEquals("StampEvent: field 'seq': missing; a number is required", e.getMessage());
    }

    @Test
    void aSchemaWithAFractionIsNoSchema() throws Exception {
        MalformedMessageException e = assertThrows(MalformedMessageException.class,
                () -> codec.decodeStampEvent(stampEventWith("schema", "1.0")));
        assertEquals("schema", e.kind(), e.getMessage());
    }

    @Test
    void aFieldNamedTwiceIsRefusedWhicheverComesFirst() throws Exception {
        String event = new String(Vectors.bytes("stamp-event.json"), StandardCharsets.UTF_8);
        for (String twice : new String[] {"{\"seq\": 7, ", "{\"schema\": 1, "}) {
            byte[] payload = event.replaceFirst("\\{", twice).getBytes(StandardCharsets.UTF_8);
            MalformedMessageException e = assertThrows(MalformedMessageException.class, () -> codec.decodeStampEvent(payload));
            assertEquals("json", e.kind(), e.getMessage());
            assertTrue(e.getMessage().contains("Duplicate field"), e.getMessage());
        }
    }

    /**
     * {@code decode} reads a text whose first field is {@code schema} in one pass and leaves every other text, and
     * every bad one, to the two passes: both must take the same texts to the same records and refuse the same texts
     * with the same error. Every vector, cut at each byte and with each byte replaced, each both ways.
     */
    @Test
    void theOnePassAndTheTwoPassesAgreeOnEveryText() throws Throwable {
        List<Object[]> inputs = new ArrayList<>();
        for (String name : new String[] {"stamp-event.json", "stamp-event-corrected.json"}) {
            inputs.add(new Object[] {codec.encode(codec.decodeStampEvent(Vectors.bytes(name))), StampEvent.class});
            inputs.add(new Object[] {Vectors.bytes(name), StampEvent.class});
        }
        inputs.add(new Object[] {codec.encode(codec.decodeAck(Vectors.bytes("ack-accepted.json"))), StampAck.class});
        for (Vectors.MalformedCase c : Vectors.malformedCases()) {
            inputs.add(new Object[] {c.payload(), StampEvent.class});
        }
        int texts = 0;
        int decoded = 0;
        for (Object[] input : inputs) {
            byte[] text = (byte[]) input[0];
            Class<?> type = (Class<?>) input[1];
            List<byte[]> variants = new ArrayList<>();
            variants.add(text);
            for (String after : new String[] {" {}", "x", " "}) {
                variants.add((new String(text, StandardCharsets.UTF_8) + after).getBytes(StandardCharsets.UTF_8));
            }
            for (int i = 1; i < text.length; i++) {
                variants.add(Arrays.copyOf(text, i));
                for (byte b : "},\"1 x]".getBytes(StandardCharsets.UTF_8)) {
                    byte[] changed = text.clone();
                    changed[i] = b;
                    variants.add(changed);
                }
            }
            for (byte[] v : variants) {
                if (v.length == 0) {
                    continue; // refused for its size before either
                }
                Object one = outcome(() -> codec.decode(v, type));
                assertEquals(outcome(() -> codec.decodeInTwoPasses(v, type)), one, new String(v, StandardCharsets.UTF_8));
                texts++;
                decoded += one instanceof String ? 0 : 1;
            }
        }
        assertTrue(decoded > 100 && texts - decoded > 1000, decoded + " of " + texts + " decoded: the variants must test both");
    }

    /** The record, or the error's kind and message. */
    private static Object outcome(ThrowingSupplier<Object> decode) throws Throwable {
        try {
            return decode.get();
        } catch (MalformedMessageException e) {
            return e.kind() + ": " + e.getMessage();
        }
    }

    @Test
    void textAfterTheObjectIsRefused() throws Exception {
        byte[] payload = (new String(Vectors.bytes("stamp-event.json"), StandardCharsets.UTF_8) + " {}")
                .getBytes(StandardCharsets.UTF_8);
        assertEquals("json", assertThrows(MalformedMessageException.class, () -> codec.decodeStampEvent(payload)).kind());
    }

    @Test
    void aMapValueMustBeAString() {
        for (String settings : new String[] {"{\"a\": null}", "{\"a\": 5}", "[\"a\"]"}) {
            byte[] payload = ("{\"schema\":1,\"deviceId\":\"counter-1\",\"version\":3,\"settings\":" + settings + "}")
                    .getBytes(StandardCharsets.UTF_8);
            MalformedMessageException e = assertThrows(MalformedMessageException.class,
                    () -> codec.decode(payload, DesiredConfig.class), settings);
            assertEquals("field", e.kind());
            assertTrue(e.getMessage().startsWith("DesiredConfig: field 'settings"), e.getMessage());
        }
    }

    @Test
    void aNestedRecordsFieldIsNamedWithItsPath() throws Exception {
        String ack = new String(Vectors.bytes("ack-accepted.json"), StandardCharsets.UTF_8)
                .replaceFirst("\"stamps\"\\s*:\\s*\\d+", "\"stamps\": \"many\"");
        MalformedMessageException e = assertThrows(MalformedMessageException.class,
                () -> codec.decodeAck(ack.getBytes(StandardCharsets.UTF_8)));
        assertTrue(e.getMessage().startsWith("StampAck: field 'card.stamps': expected an integer"), e.getMessage());
    }

    @Test
    void aBadTimeIsNamed() {
        MalformedMessageException e = assertThrows(MalformedMessageException.class,
                () -> codec.decodeStampEvent(Vectors.malformedCases().stream()
                        .filter(c -> c.name().equals("bad time")).findFirst().orElseThrow().payload()));
        assertTrue(e.getMessage().startsWith("StampEvent: field 'deviceTime': "), e.getMessage());
    }

    @Test
    void futureSchemaMessageNamesTheVersions() {
        MalformedMessageException e = assertThrows(MalformedMessageException.class,
                () -> codec.decodeStampEvent("{\"schema\":2}".getBytes(StandardCharsets.UTF_8)));
        assertEquals("StampEvent: schema 2 is not supported (this side reads 1..1)", e.getMessage());
    }

    @Test
    void aCorrectedEventCarriesClockCorrectedAndAnUncorrectedOneDoesNotMentionIt() throws Exception {
        StampEvent corrected = codec.decodeStampEvent(Vectors.bytes("stamp-event-corrected.json"));
        assertTrue(corrected.timeCorrected());
        assertTrue(corrected.clockSynced());
        StampEvent plain = codec.decodeStampEvent(Vectors.bytes("stamp-event.json"));
        assertFalse(plain.timeCorrected());
        assertFalse(new String(codec.encode(plain), StandardCharsets.UTF_8).contains("clockCorrected"));
        assertTrue(new String(codec.encode(corrected), StandardCharsets.UTF_8).contains("\"clockCorrected\":true"));
    }
}
