package app.sevenstamp.autopilot.sink.store;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * Messages the sink could not use (malformed, oversized, unknown schema, unknown device, sent on
 * another device's topic), parked in {@code dead_letters} with why, so an operator can look at
 * them and nothing a gateway sent is silently gone. Payloads are kept up to {@value #MAX_KEPT}
 * bytes; the full size is recorded.
 *
 * <p>Thread-safe; each call is its own statement on a pooled connection.
 */
public final class DeadLetters {
    public static final int MAX_KEPT = 65_536;

    /** One parked message. {@code deviceId} is the device named by the topic, null if none. */
    public record DeadLetter(long id, Instant receivedAt, String topic, String deviceId, String kind, String detail,
            int payloadSize, byte[] payload) {
        public DeadLetter {
            Objects.requireNonNull(kind, "kind");
        }
    }

    private final SinkStore store;

    public DeadLetters(SinkStore store) {
        this.store = Objects.requireNonNull(store, "store");
    }

    /** Parks one message. @throws StoreException when the database fails */
    public void park(Instant at, String topic, String deviceId, String kind, String detail, byte[] payload) {
        store.transaction(tx -> {
            Connection c = tx.connection();
            try (PreparedStatement ps = c.prepareStatement("INSERT INTO dead_letters (received_at, topic, device_id, "
                    + "kind, detail, payload_size, payload) VALUES (?, ?, ?, ?, ?, ?, ?)")) {
                ps.setObject(1, at.atOffset(ZoneOffset.UTC));
                ps.setString(2, clip(topic, 512));
                ps.setString(3, clip(deviceId, 64));
                ps.setString(4, clip(kind, 32));
                ps.setString(5, clip(detail, 1000));
                ps.setInt(6, payload.length);
                ps.setBytes(7, payload.length <= MAX_KEPT ? payload : Arrays.copyOf(payload, MAX_KEPT));
                ps.executeUpdate();
            }
            return null;
        });
    }

    /** The newest {@code limit} parked messages, newest first. */
    public List<DeadLetter> latest(int limit) {
        return store.transaction(tx -> {
            List<DeadLetter> out = new ArrayList<>();
            try (PreparedStatement ps = tx.connection().prepareStatement("SELECT id, received_at, topic, device_id, kind, "
                    + "detail, payload_size, payload FROM dead_letters ORDER BY id DESC FETCH FIRST " + limit + " ROWS ONLY");
                    ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    out.add(new DeadLetter(rs.getLong(1), rs.getObject(2, java.time.OffsetDateTime.class).toInstant(),
                            rs.getString(3), rs.getString(4), rs.getString(5), rs.getString(6), rs.getInt(7),
                            rs.getBytes(8)));
                }
            }
            return out;
        });
    }

    /** How many are parked, by kind. */
    public Map<String, Long> countByKind() {
        return store.transaction(tx -> {
            Map<String, Long> out = new LinkedHashMap<>();
            try (PreparedStatement ps = tx.connection().prepareStatement(
                    "SELECT kind, COUNT(*) FROM dead_letters GROUP BY kind ORDER BY kind"); ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    out.put(rs.getString(1), rs.getLong(2));
                }
            }
            return out;
        });
    }

    private static String clip(String s, int max) {
        if (s == null) {
            return null;
        }
        // Control characters from a hostile payload would garble the operator's terminal.
        String clean = s.replaceAll("\\p{Cntrl}", "?");
        return clean.length() <= max ? clean : clean.substring(0, max);
    }
}
