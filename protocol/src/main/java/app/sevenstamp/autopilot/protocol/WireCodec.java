package app.sevenstamp.autopilot.protocol;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.core.StreamReadConstraints;
import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.core.util.ByteArrayBuilder;
import java.io.IOException;

/**
 * JSON encoding of the wire contract. Thread-safe; share one instance.
 *
 * <p>Compatibility rules: unknown fields are ignored (a newer peer may add fields); a message whose
 * {@code schema} is missing or newer than {@link #SCHEMA} is refused, because its meaning may have changed.
 * Every field must have its JSON type, and a field named twice is refused ({@link WireRecords}).
 */
public final class WireCodec {
    /** The schema version this code writes and the newest it reads. */
    public static final int SCHEMA = 1;

    /** Nothing in the contract comes near this; a bigger payload is refused before parsing. */
    public static final int MAX_PAYLOAD_BYTES = 16 * 1024;

    /**
     * The highest sequence number a stamp event may carry, 2^53 - 1: the largest integer every JSON
     * reader holds exactly (JavaScript's Number.MAX_SAFE_INTEGER), far beyond what a box counts in
     * its life, and far enough from Long.MAX_VALUE that {@code seq + 1} and sums over gaps cannot overflow.
     */
    public static final long MAX_SEQ = (1L << 53) - 1;

    /**
     * A field named twice is refused: two readers of the same text (the sink, a log search, a peer in another
     * language) must not disagree on which one counts.
     */
    private final JsonFactory json = JsonFactory.builder()
            .streamReadConstraints(StreamReadConstraints.builder().maxNestingDepth(16).maxStringLength(MAX_PAYLOAD_BYTES).build())
            .enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION)
            .build();

    /** The record as JSON: its components in declaration order, nulls left out. */
    public byte[] encode(Object message) {
        // 1 KB: a stamp event is under 500 bytes; the builder grows (by a copy) only for a rarer, larger message
        try (ByteArrayBuilder out = new ByteArrayBuilder(1024); JsonGenerator g = json.createGenerator(out)) {
            WireRecords.write(g, message);
            g.flush();
            return out.toByteArray();
        } catch (IOException e) {
            throw new IllegalStateException("cannot encode " + message.getClass().getSimpleName(), e);
        }
    }

    public StampEvent decodeStampEvent(byte[] payload) throws MalformedMessageException {
        return decode(payload, StampEvent.class);
    }

    public StampAck decodeAck(byte[] payload) throws MalformedMessageException {
        return decode(payload, StampAck.class);
    }

    public DeviceStatus decodeStatus(byte[] payload) throws MalformedMessageException {
        return decode(payload, DeviceStatus.class);
    }

    /** Decodes any record of the contract, checking size and schema version first. */
    public <T> T decode(byte[] payload, Class<T> type) throws MalformedMessageException {
        String what = type.getSimpleName();
        if (payload == null || payload.length == 0) {
            throw new MalformedMessageException("size", what + ": empty payload", null);
        }
        if (payload.length > MAX_PAYLOAD_BYTES) {
            throw new MalformedMessageException("size", what + ": payload of " + payload.length
                    + " bytes exceeds the limit of " + MAX_PAYLOAD_BYTES, null);
        }
        T fast = readSchemaFirst(payload, type);
        return fast != null ? fast : decodeInTwoPasses(payload, type);
    }

    /** The schema first, then the record: what {@link #decode} does for any text its one pass does not take. */
    <T> T decodeInTwoPasses(byte[] payload, Class<T> type) throws MalformedMessageException {
        String what = type.getSimpleName();
        int schema = schemaOf(payload, what);
        if (!readable(schema)) {
            throw new MalformedMessageException("schema", what + ": schema " + schema
                    + " is not supported (this side reads 1.." + SCHEMA + ")", null);
        }
        try (JsonParser p = json.createParser(payload)) {
            p.nextToken();
            return checked(WireRecords.read(p, type));
        } catch (WireRecords.FieldException e) {
            String field = e.path.isEmpty() ? "" : "field '" + e.path + "': ";
            throw new MalformedMessageException("field", what + ": " + field + e.getMessage(), e);
        } catch (IllegalArgumentException e) {
            throw new MalformedMessageException("field", what + ": " + e.getMessage(), e);
        } catch (IOException e) {
            throw new MalformedMessageException("json", what + ": not JSON: " + firstLine(e), e);
        }
    }

    /**
     * The record in one pass, when {@code schema} is the object's first field (as this codec writes it) and all of it
     * is right; else null, and {@link #decode} reads it in two passes, which accept exactly the same texts and give
     * each bad one its error. Half the decode's work for the messages that matter: an ack cost the box 11 us and
     * 6.4 KB in two passes (C1, the unit's flags), one pass being 2 us and 1.5 KB of it (docs/perf/drain-and-writes.md).
     */
    private <T> T readSchemaFirst(byte[] payload, Class<T> type) {
        try (JsonParser p = json.createParser(payload)) {
            if (p.nextToken() != JsonToken.START_OBJECT || p.nextToken() != JsonToken.FIELD_NAME
                    || !p.currentName().equals("schema") || p.nextToken() != JsonToken.VALUE_NUMBER_INT
                    || p.getNumberType() != JsonParser.NumberType.INT) {
                return null;
            }
            int schema = p.getIntValue();
            if (!readable(schema)) {
                return null;
            }
            T value = checked(WireRecords.readAfter(p, type, "schema", schema));
            return p.nextToken() == null ? value : null;
        } catch (IOException | RuntimeException e) {
            return null; // the two passes give it its error
        }
    }

    private static boolean readable(int schema) {
        return schema >= 1 && schema <= SCHEMA;
    }

    /** The record, once a stamp event's fields are within their documented formats ({@link StampEventFields}). */
    private static <T> T checked(T value) {
        if (value instanceof StampEvent event) {
            StampEventFields.check(event);
        }
        return value;
    }

    /**
     * The first pass over the text: that it is one JSON object and nothing after it, and its {@code schema}, before
     * any field is read as the record (a newer schema's fields may mean something else).
     */
    private int schemaOf(byte[] payload, String what) throws MalformedMessageException {
        Integer schema = null;
        try (JsonParser p = json.createParser(payload)) {
            if (p.nextToken() != JsonToken.START_OBJECT) {
                throw new MalformedMessageException("json", what + ": expected a JSON object", null);
            }
            while (p.nextToken() == JsonToken.FIELD_NAME) {
                String name = p.currentName();
                JsonToken value = p.nextToken();
                if (name.equals("schema")) {
                    boolean isInt = value == JsonToken.VALUE_NUMBER_INT && p.getNumberType() == JsonParser.NumberType.INT;
                    schema = isInt ? p.getIntValue() : null;
                }
                p.skipChildren();
            }
            if (p.nextToken() != null) {
                throw new MalformedMessageException("json", what + ": not JSON: more after the object's end", null);
            }
        } catch (IOException e) {
            throw new MalformedMessageException("json", what + ": not JSON: " + firstLine(e), e);
        }
        if (schema == null) {
            throw new MalformedMessageException("schema", what + ": missing integer field 'schema'", null);
        }
        return schema;
    }

    /** One line for an operator's log: the parser's message without its location and source excerpt. */
    private static String firstLine(IOException e) {
        String m = e instanceof JsonProcessingException json ? json.getOriginalMessage() : e.getMessage();
        m = String.valueOf(m);
        int nl = m.indexOf('\n');
        return nl < 0 ? m : m.substring(0, nl);
    }
}
