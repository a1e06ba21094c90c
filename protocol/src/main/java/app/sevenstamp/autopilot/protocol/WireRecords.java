package app.sevenstamp.autopilot.protocol;

import com.fasterxml.jackson.annotation.JsonEnumDefaultValue;
import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import java.io.IOException;
import java.lang.reflect.Constructor;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.lang.reflect.ParameterizedType;
import java.lang.reflect.RecordComponent;
import java.lang.reflect.Type;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The contract's records as JSON, over Jackson's streaming parser and generator: a record is an object of its
 * components, in declaration order, nulls left out. Strict, because what a peer sends is not trusted: a field has its
 * JSON type (no number for a string, no string for a number, no fraction for an integer, no number for a flag or an
 * enum: Jackson's data binding, as this codec used it, coerced each of these), a primitive is present and not null,
 * a map value is not null. Unknown fields are skipped (a newer peer may add some); an unknown enum constant reads as
 * the constant marked {@link JsonEnumDefaultValue}, where the enum has one.
 *
 * <p>Why not Jackson's {@code ObjectMapper}: it made the box load 660 more classes (its own 465 and the JDK's it
 * uses), 8 MB of resident memory measured (docs/perf/box-classes.md), for a dozen records that need a few of its
 * features.
 */
final class WireRecords {
    /** A field whose value breaks the contract; {@code path} names it ({@code card.stamps}), empty for the record. */
    static final class FieldException extends IllegalArgumentException {
        final String path;

        FieldException(String path, String message, Throwable cause) {
            super(message, cause);
            this.path = path;
        }
    }

    /** A record class's components and canonical constructor, looked up once. */
    private record Shape(Constructor<?> constructor, String[] names, Type[] types, Class<?>[] raw, Method[] accessors,
            Map<String, Integer> index) {
        static Shape of(Class<?> type) {
            if (!type.isRecord()) {
                throw new IllegalArgumentException(type.getName() + " is not a record of the wire contract");
            }
            RecordComponent[] components = type.getRecordComponents();
            String[] names = new String[components.length];
            Type[] types = new Type[components.length];
            Class<?>[] raw = new Class<?>[components.length];
            Method[] accessors = new Method[components.length];
            Map<String, Integer> index = new HashMap<>();
            for (int i = 0; i < components.length; i++) {
                names[i] = components[i].getName();
                types[i] = components[i].getGenericType();
                raw[i] = components[i].getType();
                accessors[i] = components[i].getAccessor();
                index.put(names[i], i);
            }
            try {
                return new Shape(type.getDeclaredConstructor(raw), names, types, raw, accessors, Map.copyOf(index));
            } catch (NoSuchMethodException e) {
                throw new IllegalStateException(type.getName() + " has no canonical constructor", e);
            }
        }
    }

    private static final ClassValue<Shape> SHAPES = new ClassValue<>() {
        @Override
        protected Shape computeValue(Class<?> type) {
            return Shape.of(type);
        }
    };

    private static final ClassValue<Enum<?>> ENUM_DEFAULTS = new ClassValue<>() {
        @Override
        protected Enum<?> computeValue(Class<?> type) {
            for (Object constant : type.getEnumConstants()) {
                Enum<?> e = (Enum<?>) constant;
                try {
                    if (type.getField(e.name()).isAnnotationPresent(JsonEnumDefaultValue.class)) {
                        return e;
                    }
                } catch (NoSuchFieldException impossible) {
                    throw new IllegalStateException(impossible);
                }
            }
            return null;
        }
    };

    private WireRecords() {
    }

    /** Reads the record that starts at the parser's current token ({@code {}}). */
    static <T> T read(JsonParser p, Class<T> type) throws IOException {
        return type.cast(readRecord(p, type, ""));
    }

    /**
     * Reads the rest of a record whose first field, {@code name}, the caller has read already as {@code value}: the
     * parser stands on that field's value.
     */
    static <T> T readAfter(JsonParser p, Class<T> type, String name, Object value) throws IOException {
        Shape shape = SHAPES.get(type);
        Object[] args = new Object[shape.names.length];
        boolean[] seen = new boolean[args.length];
        Integer i = shape.index.get(name);
        if (i != null) {
            args[i] = value;
            seen[i] = true;
        }
        return type.cast(readFields(p, type, shape, args, seen, ""));
    }

    static void write(JsonGenerator g, Object value) throws IOException {
        writeValue(g, value);
    }

    private static Object readRecord(JsonParser p, Class<?> type, String path) throws IOException {
        Shape shape = SHAPES.get(type);
        expect(p, JsonToken.START_OBJECT, path, "an object");
        Object[] args = new Object[shape.names.length];
        return readFields(p, type, shape, args, new boolean[args.length], path);
    }

    /** The record's fields up to its end, into {@code args}, then the record. */
    private static Object readFields(JsonParser p, Class<?> type, Shape shape, Object[] args, boolean[] seen, String path)
            throws IOException {
        while (p.nextToken() == JsonToken.FIELD_NAME) {
            String name = p.currentName();
            p.nextToken();
            Integer i = shape.index.get(name);
            if (i == null) {
                p.skipChildren();
                continue;
            }
            args[i] = readValue(p, shape.types[i], join(path, name));
            seen[i] = true;
        }
        for (int i = 0; i < args.length; i++) {
            if (shape.raw[i].isPrimitive() && !seen[i]) {
                throw new FieldException(join(path, shape.names[i]), "missing; " + describe(shape.raw[i]) + " is required", null);
            }
        }
        try {
            return shape.constructor.newInstance(args);
        } catch (InvocationTargetException e) {
            Throwable cause = e.getCause();
            if (cause instanceof Error error) {
                throw error;
            }
            String message = String.valueOf(cause.getMessage());
            if (cause instanceof NullPointerException && shape.index.containsKey(message)) {
                // the records' own checks: Objects.requireNonNull(deviceId, "deviceId")
                throw new FieldException(join(path, message), "missing", cause);
            }
            throw new FieldException(path, message, cause);
        } catch (ReflectiveOperationException e) {
            throw new IllegalStateException("cannot construct " + type.getName(), e);
        }
    }

    private static Object readValue(JsonParser p, Type type, String path) throws IOException {
        Class<?> raw = raw(type);
        JsonToken token = p.currentToken();
        if (token == JsonToken.VALUE_NULL) {
            if (raw.isPrimitive()) {
                throw new FieldException(path, "null; " + describe(raw) + " is required", null);
            }
            return null;
        }
        if (raw == String.class) {
            expect(p, JsonToken.VALUE_STRING, path, "a string");
            return p.getText();
        }
        if (raw == int.class || raw == Integer.class) {
            expect(p, JsonToken.VALUE_NUMBER_INT, path, "an integer");
            if (p.getNumberType() != JsonParser.NumberType.INT) {
                throw new FieldException(path, p.getText() + " is out of the range of a 32-bit integer", null);
            }
            return p.getIntValue();
        }
        if (raw == long.class || raw == Long.class) {
            expect(p, JsonToken.VALUE_NUMBER_INT, path, "an integer");
            JsonParser.NumberType n = p.getNumberType();
            if (n != JsonParser.NumberType.INT && n != JsonParser.NumberType.LONG) {
                throw new FieldException(path, p.getText() + " is out of the range of a 64-bit integer", null);
            }
            return p.getLongValue();
        }
        if (raw == boolean.class || raw == Boolean.class) {
            if (token != JsonToken.VALUE_TRUE && token != JsonToken.VALUE_FALSE) {
                throw new FieldException(path, "expected true or false, found " + describe(token), null);
            }
            return token == JsonToken.VALUE_TRUE;
        }
        if (raw == double.class || raw == Double.class) {
            if (token == JsonToken.VALUE_STRING) {
                // gateways before DeviceStatus's null temperature sent "NaN"; the records turn non-finite into null
                String text = p.getText();
                if (text.equals("NaN") || text.equals("Infinity") || text.equals("-Infinity")) {
                    return Double.valueOf(text);
                }
                throw new FieldException(path, "expected a number, found the string \"" + shorten(text) + "\"", null);
            }
            if (token != JsonToken.VALUE_NUMBER_INT && token != JsonToken.VALUE_NUMBER_FLOAT) {
                throw new FieldException(path, "expected a number, found " + describe(token), null);
            }
            return p.getDoubleValue();
        }
        if (raw == Instant.class) {
            expect(p, JsonToken.VALUE_STRING, path, "a time as text (2026-11-23T07:02:11Z)");
            String text = p.getText();
            try {
                return Instant.parse(text);
            } catch (DateTimeParseException e) {
                throw new FieldException(path, "\"" + shorten(text) + "\" is not a time such as 2026-11-23T07:02:11Z", e);
            }
        }
        if (raw.isEnum()) {
            expect(p, JsonToken.VALUE_STRING, path, "one of " + List.of(raw.getEnumConstants()));
            return enumConstant(raw, p.getText(), path);
        }
        if (raw == Map.class) {
            expect(p, JsonToken.START_OBJECT, path, "an object");
            Type valueType = typeArgument(type, 1);
            Map<String, Object> map = new LinkedHashMap<>();
            while (p.nextToken() == JsonToken.FIELD_NAME) {
                String key = p.currentName();
                p.nextToken();
                Object v = readValue(p, valueType, join(path, key));
                if (v == null) {
                    throw new FieldException(join(path, key), "null; a value is required", null);
                }
                map.put(key, v);
            }
            return map;
        }
        if (raw == List.class) {
            expect(p, JsonToken.START_ARRAY, path, "an array");
            Type itemType = typeArgument(type, 0);
            List<Object> list = new ArrayList<>();
            while (p.nextToken() != JsonToken.END_ARRAY) {
                Object v = readValue(p, itemType, path + "[" + list.size() + "]");
                if (v == null) {
                    throw new FieldException(path + "[" + list.size() + "]", "null; a value is required", null);
                }
                list.add(v);
            }
            return list;
        }
        if (raw.isRecord()) {
            return readRecord(p, raw, path);
        }
        throw new IllegalStateException(path + ": the wire contract has no JSON form for " + type);
    }

    private static Object enumConstant(Class<?> type, String name, String path) {
        for (Object constant : type.getEnumConstants()) {
            if (((Enum<?>) constant).name().equals(name)) {
                return constant;
            }
        }
        Enum<?> fallback = ENUM_DEFAULTS.get(type);
        if (fallback != null) {
            return fallback;
        }
        throw new FieldException(path, "\"" + shorten(name) + "\" is not one of " + List.of(type.getEnumConstants()), null);
    }

    private static void writeValue(JsonGenerator g, Object value) throws IOException {
        if (value instanceof String s) {
            g.writeString(s);
        } else if (value instanceof Integer i) {
            g.writeNumber(i);
        } else if (value instanceof Long l) {
            g.writeNumber(l);
        } else if (value instanceof Boolean b) {
            g.writeBoolean(b);
        } else if (value instanceof Double d) {
            g.writeNumber(d);
        } else if (value instanceof Instant t) {
            g.writeString(t.toString());
        } else if (value instanceof Enum<?> e) {
            g.writeString(e.name());
        } else if (value instanceof Map<?, ?> map) {
            g.writeStartObject();
            for (Map.Entry<?, ?> entry : map.entrySet()) {
                if (entry.getValue() != null) {
                    g.writeFieldName(String.valueOf(entry.getKey()));
                    writeValue(g, entry.getValue());
                }
            }
            g.writeEndObject();
        } else if (value instanceof List<?> list) {
            g.writeStartArray();
            for (Object item : list) {
                writeValue(g, item);
            }
            g.writeEndArray();
        } else if (value != null && value.getClass().isRecord()) {
            writeRecord(g, value);
        } else {
            throw new IllegalArgumentException("the wire contract has no JSON form for "
                    + (value == null ? "null" : value.getClass().getName()));
        }
    }

    private static void writeRecord(JsonGenerator g, Object record) throws IOException {
        Shape shape = SHAPES.get(record.getClass());
        g.writeStartObject();
        for (int i = 0; i < shape.names.length; i++) {
            Object v;
            try {
                v = shape.accessors[i].invoke(record);
            } catch (ReflectiveOperationException e) {
                throw new IllegalStateException("cannot read " + shape.names[i] + " of " + record.getClass().getName(), e);
            }
            if (v != null) {
                g.writeFieldName(shape.names[i]);
                writeValue(g, v);
            }
        }
        g.writeEndObject();
    }

    private static void expect(JsonParser p, JsonToken wanted, String path, String what) {
        if (p.currentToken() != wanted) {
            throw new FieldException(path, "expected " + what + ", found " + describe(p.currentToken()), null);
        }
    }

    private static String describe(JsonToken token) {
        if (token == null) {
            return "nothing";
        }
        return switch (token) {
            case START_OBJECT -> "an object";
            case START_ARRAY -> "an array";
            case VALUE_STRING -> "a string";
            case VALUE_NUMBER_INT -> "an integer";
            case VALUE_NUMBER_FLOAT -> "a number with a fraction";
            case VALUE_TRUE, VALUE_FALSE -> "a boolean";
            case VALUE_NULL -> "null";
            default -> token.name();
        };
    }

    private static String describe(Class<?> primitive) {
        return primitive == boolean.class ? "true or false" : "a number";
    }

    private static Class<?> raw(Type type) {
        if (type instanceof Class<?> c) {
            return c;
        }
        if (type instanceof ParameterizedType pt) {
            return (Class<?>) pt.getRawType();
        }
        throw new IllegalStateException("the wire contract has no JSON form for " + type);
    }

    private static Type typeArgument(Type type, int i) {
        if (type instanceof ParameterizedType pt) {
            return pt.getActualTypeArguments()[i];
        }
        throw new IllegalStateException("a raw " + type + " in the wire contract: give its type arguments");
    }

    private static String join(String path, String name) {
        return path.isEmpty() ? name : path + "." + name;
    }

    private static String shorten(String text) {
        return text.length() <= 40 ? text : text.substring(0, 40) + "...";
    }
}
