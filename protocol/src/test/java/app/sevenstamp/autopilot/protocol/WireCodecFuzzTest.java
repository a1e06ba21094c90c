package app.sevenstamp.autopilot.protocol;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.code_intelligence.jazzer.api.FuzzedDataProvider;
import com.code_intelligence.jazzer.junit.FuzzTest;
import java.util.List;

/**
 * Jazzer targets for the wire codec, what every box, till and sink parses from the broker. In a normal
 * test run each replays its corpus ({@code src/test/resources/.../WireCodecFuzzTestInputs/<method>/}); with
 * {@code JAZZER_FUZZ=1} one of them is fuzzed (docs/fuzzing.md).
 *
 * <p>The properties: decoding throws nothing but {@link MalformedMessageException}; whatever decodes encodes
 * to a canonical text that decodes to the same value and encodes to the same bytes again; a decoded stamp
 * event's fields are within the documented bounds, checked here independently of {@link StampEventFields}; the
 * codec's one pass over a text that starts with its schema and its two passes agree on every text.
 */
class WireCodecFuzzTest {
    /** Every record of the contract that a peer sends; a corpus file's last byte picks one (index modulo the size). */
    static final List<Class<?>> RECORDS = List.of(StampEvent.class, StampAck.class, DeviceStatus.class,
            RedeemRequest.class, RedeemAnswer.class, ProvisionRequest.class, ProvisionResponse.class,
            ProvisionGrant.class, DeviceCommand.class, CommandAck.class, DesiredConfig.class, CounterRules.class,
            CardState.class, UpdateManifest.class);

    private static final WireCodec CODEC = new WireCodec();

    @FuzzTest(maxDuration = "10s")
    void stampEventDecodesOrIsMalformed(byte[] payload) {
        StampEvent event;
        try {
            event = CODEC.decodeStampEvent(payload);
        } catch (MalformedMessageException e) {
            return;
        }
        assertTrue(event.seq() >= 1 && event.seq() <= WireCodec.MAX_SEQ, "seq " + event.seq());
        assertTrue(event.eventId().matches("[0-9a-f]{8}(-[0-9a-f]{4}){3}-[0-9a-f]{12}"), event.eventId());
        for (String text : new String[] {event.deviceId(), event.location()}) {
            assertTrue(text.matches("[A-Za-z0-9_.-]{1,64}"), text);
        }
        for (String text : new String[] {event.bootId(), event.cardCode(), event.programId(), event.cardId()}) {
            assertTrue(text.matches("[\\x21-\\x7E]{1,160}"), text);
        }
        assertCanonical(event, StampEvent.class);
    }

    @FuzzTest(maxDuration = "10s")
    void everyRecordDecodesOrIsMalformed(FuzzedDataProvider data) {
        Class<?> type = RECORDS.get(data.consumeInt(0, RECORDS.size() - 1));
        byte[] payload = data.consumeRemainingAsBytes();
        Object value;
        try {
            value = CODEC.decode(payload, type);
        } catch (MalformedMessageException e) {
            if (!e.kind().equals("size")) { // refused for its size before either pass
                MalformedMessageException two = assertThrows(MalformedMessageException.class,
                        () -> CODEC.decodeInTwoPasses(payload, type), "the one pass refused what the two take");
                assertEquals(e.kind() + ": " + e.getMessage(), two.kind() + ": " + two.getMessage());
            }
            return;
        }
        assertTrue(type.isInstance(value), type + " decoded as " + value);
        try {
            assertEquals(value, CODEC.decodeInTwoPasses(payload, type), "the one pass and the two disagree");
        } catch (MalformedMessageException e) {
            throw new AssertionError("the one pass took a text the two refuse", e);
        }
        assertCanonical(value, type);
    }

    /** encode(v) decodes to v, and encoding that again gives the very same bytes: one value, one text. */
    private static <T> void assertCanonical(Object value, Class<T> type) {
        byte[] text = CODEC.encode(value);
        T again;
        try {
            again = CODEC.decode(text, type);
        } catch (MalformedMessageException e) {
            throw new AssertionError("a decoded " + type.getSimpleName() + " re-encodes to a text it refuses: "
                    + new String(text, java.nio.charset.StandardCharsets.UTF_8), e);
        }
        assertEquals(value, again);
        assertArrayEquals(text, CODEC.encode(again));
    }
}
