package app.sevenstamp.autopilot.protocol;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.StreamReadConstraints;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.module.SimpleModule;
import com.fasterxml.jackson.databind.ser.std.ToStringSerializer;
import com.fasterxml.jackson.databind.deser.std.FromStringDeserializer;
import java.io.IOException;
import java.time.Instant;

/**
 * JSON encoding of the wire contract. Thread-safe; share one instance.
 *
 * <p>Compatibility rules: unknown fields are ignored (a newer peer may add fields); a message whose
 * {@code schema} is missing or newer than {@link #SCHEMA} is refused, because its meaning may have changed.
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

    private final ObjectMapper mapper;

    public WireCodec() {
        SimpleModule instants = new SimpleModule("instants")
                .addSerializer(Instant.class, ToStringSerializer.instance)
                .addDeserializer(Instant.class, new InstantDeserializer());
        JsonMapper.Builder builder = JsonMapper.builder()
                .addModule(instants)
                .disable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
                .enable(DeserializationFeature.FAIL_ON_NULL_FOR_PRIMITIVES)
                .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
                .enable(DeserializationFeature.READ_UNKNOWN_ENUM_VALUES_USING_DEFAULT_VALUE)
                .disable(SerializationFeature.FAIL_ON_EMPTY_BEANS)
                .defaultPropertyInclusion(JsonInclude.Value.construct(JsonInclude.Include.NON_NULL, JsonInclude.Include.NON_NULL));
        mapper = builder.build();
        mapper.getFactory().setStreamReadConstraints(
                StreamReadConstraints.builder().maxNestingDepth(16).maxStringLength(MAX_PAYLOAD_BYTES).build());
    }

    public byte[] encode(Object message) {
        try {
            return mapper.writeValueAsBytes(message);
        } catch (JsonProcessingException e) {
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
        JsonNode tree;
        try {
            tree = mapper.readTree(payload);
        } catch (IOException e) {
            throw new MalformedMessageException("json", what + ": not JSON: " + firstLine(e), e);
        }
        if (tree == null || !tree.isObject()) {
            throw new MalformedMessageException("json", what + ": expected a JSON object", null);
        }
        JsonNode schema = tree.get("schema");
        if (schema == null || !schema.isInt()) {
            throw new MalformedMessageException("schema", what + ": missing integer field 'schema'", null);
        }
        if (schema.intValue() < 1 || schema.intValue() > SCHEMA) {
            throw new MalformedMessageException("schema", what + ": schema " + schema.intValue()
                    + " is not supported (this side reads 1.." + SCHEMA + ")", null);
        }
        try {
            T value = mapper.treeToValue(tree, type);
            if (value instanceof StampEvent event) {
                StampEventFields.check(event);
            }
            return value;
        } catch (IOException | IllegalArgumentException e) {
            throw new MalformedMessageException("field", what + ": " + firstLine(e), e);
        }
    }

    /**
     * One line for an operator's log: which field, and what is wrong with it, without Jackson's
     * advice on how to reconfigure Jackson.
     */
    private static String firstLine(Exception e) {
        String field = null;
        if (e instanceof com.fasterxml.jackson.databind.JsonMappingException mapping && !mapping.getPath().isEmpty()) {
            field = mapping.getPath().stream().map(r -> r.getFieldName() != null ? r.getFieldName() : "[" + r.getIndex() + "]")
                    .collect(java.util.stream.Collectors.joining("."));
        }
        Throwable t = e;
        while (t.getCause() != null && t.getCause() != t) {
            t = t.getCause();
        }
        String m = t instanceof com.fasterxml.jackson.core.JsonProcessingException json ? json.getOriginalMessage() : t.getMessage();
        m = String.valueOf(m);
        int nl = m.indexOf('\n');
        m = nl < 0 ? m : m.substring(0, nl);
        int advice = m.indexOf(" (set DeserializationConfig");
        m = advice < 0 ? m : m.substring(0, advice);
        return field == null ? m : "field '" + field + "': " + m;
    }

    private static final class InstantDeserializer extends FromStringDeserializer<Instant> {
        InstantDeserializer() {
            super(Instant.class);
        }

        @Override
        protected Instant _deserialize(String value, com.fasterxml.jackson.databind.DeserializationContext ctxt) {
            return Instant.parse(value);
        }
    }
}
