package app.sevenstamp.autopilot.sink.store;

import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;

/**
 * How busy the counters are: ledger lines of one kind per location per time bucket, by arrival
 * ({@code recorded_at}, indexed), for the console's live page. One grouped query on H2 and PostgreSQL
 * alike; the bucket width is one of the page's constants, never a request's text.
 */
public final class Activity {
    private final SinkStore store;

    public Activity(SinkStore store) {
        this.store = Objects.requireNonNull(store, "store");
    }

    /**
     * Lines of {@code type} since {@code from}, counted per location and per bucket of {@code width}.
     *
     * @return location (empty string for none) -> bucket start -> count
     */
    public Map<String, Map<Instant, Long>> perLocation(String type, Instant from, Duration width) {
        long seconds = width.toSeconds();
        if (seconds < 1 || seconds > 86_400) {
            throw new IllegalArgumentException("bucket width " + width + " is not 1 s to 1 day");
        }
        String bucket = "FLOOR(EXTRACT(EPOCH FROM recorded_at) / " + seconds + ")";
        return store.transaction(tx -> {
            Map<String, Map<Instant, Long>> out = new TreeMap<>();
            try (PreparedStatement ps = tx.connection().prepareStatement("SELECT loc, b, COUNT(*) FROM (SELECT "
                    + "COALESCE(location, '') AS loc, " + bucket + " AS b FROM ledger WHERE entry_type = ? AND recorded_at >= ?) t "
                    + "GROUP BY loc, b")) {
                ps.setString(1, type);
                ps.setObject(2, from.atOffset(ZoneOffset.UTC));
                try (ResultSet rs = ps.executeQuery()) {
                    while (rs.next()) {
                        Instant start = Instant.ofEpochSecond(rs.getLong(2) * seconds);
                        out.computeIfAbsent(rs.getString(1), l -> new TreeMap<>()).merge(start, rs.getLong(3), Long::sum);
                    }
                }
            }
            return out;
        });
    }

    /** Lines of {@code type} since {@code from}, in all. */
    public long count(String type, Instant from) {
        return store.transaction(tx -> {
            try (PreparedStatement ps = tx.connection().prepareStatement(
                    "SELECT COUNT(*) FROM ledger WHERE entry_type = ? AND recorded_at >= ?")) {
                ps.setString(1, type);
                ps.setObject(2, from.atOffset(ZoneOffset.UTC));
                try (ResultSet rs = ps.executeQuery()) {
                    rs.next();
                    return rs.getLong(1);
                }
            }
        });
    }
}
