package app.sevenstamp.autopilot.sink.store;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.OptionalLong;
import java.util.TreeMap;

/**
 * The rows of {@code devices} and {@code device_gaps}: the highest sequence number per device and
 * the ranges below it that never arrived. {@link SinkStore} and {@link SinkStore.Tx} delegate here;
 * each method runs on the connection it is given (the caller's transaction, or a pooled read).
 */
final class DeviceRows {
    private DeviceRows() {}

    static OptionalLong lastSeq(Connection c, String deviceId) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("SELECT last_seq FROM devices WHERE device_id = ?")) {
            ps.setString(1, deviceId);
            try (ResultSet rs = ps.executeQuery()) {
                return rs.next() ? OptionalLong.of(rs.getLong(1)) : OptionalLong.empty();
            }
        }
    }

    /** The open gaps of one device, lowest first. */
    static List<SeqGap> gaps(Connection c, String deviceId) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("SELECT from_seq, to_seq, detected_at FROM device_gaps "
                + "WHERE device_id = ? ORDER BY from_seq")) {
            ps.setString(1, deviceId);
            List<SeqGap> out = new ArrayList<>();
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    OffsetDateTime t = rs.getObject(3, OffsetDateTime.class);
                    out.add(new SeqGap(deviceId, rs.getLong(1), rs.getLong(2), t.toInstant()));
                }
            }
            return out;
        }
    }

    /**
     * Open gaps over all devices and the events missing in them: {@code [gaps, missing]}, the sum
     * capped at Long.MAX_VALUE. Summed as DECIMAL: a BIGINT sum of gaps written before their span was
     * bounded overflowed, and the metrics route failed on every call ("Numeric value out of range").
     */
    static long[] gapTotals(Connection c) throws SQLException {
        try (Statement st = c.createStatement();
             ResultSet rs = st.executeQuery("SELECT COUNT(*), COALESCE(SUM(CAST(to_seq AS DECIMAL(20)) - from_seq + 1), 0) "
                     + "FROM device_gaps")) {
            rs.next();
            java.math.BigDecimal missing = rs.getBigDecimal(2);
            return new long[] {rs.getLong(1), missing.min(java.math.BigDecimal.valueOf(Long.MAX_VALUE)).longValue()};
        }
    }

    /** The highest sequence number stored of each of {@code ids}; unlocked, may be stale (only ever lower). */
    static Map<String, Long> lastSeqs(Connection c, List<String> ids) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("SELECT device_id, last_seq FROM devices WHERE device_id IN ("
                + String.join(", ", java.util.Collections.nCopies(ids.size(), "?")) + ")")) {
            for (int i = 0; i < ids.size(); i++) {
                ps.setString(i + 1, ids.get(i));
            }
            Map<String, Long> out = new HashMap<>();
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    out.put(rs.getString(1), rs.getLong(2));
                }
            }
            return out;
        }
    }

    /**
     * {@link SinkStore.Tx#noteDeviceSeq} for several devices and several numbers each, with one statement that
     * locks and reads all their rows (in device id order) and one JDBC batch that updates them: each
     * device's numbers are judged in the given order, each against the highest one before it,
     * exactly as if noted one by one. Returns one note per number, by device.
     */
    static Map<String, List<SeqNote>> note(Connection c, Map<String, List<Long>> seqsByDevice, Instant at)
            throws SQLException {
        TreeMap<String, List<Long>> devices = new TreeMap<>(seqsByDevice);
        devices.values().removeIf(List::isEmpty);
        Map<String, List<SeqNote>> out = new HashMap<>();
        if (devices.isEmpty()) {
            return out;
        }
        Map<String, Long> lastSeqs = new HashMap<>();
        try (PreparedStatement ps = c.prepareStatement("SELECT device_id, last_seq FROM devices WHERE device_id IN ("
                + Rows.marks(devices.size()) + ") ORDER BY device_id FOR UPDATE")) {
            int i = 1;
            for (String d : devices.keySet()) {
                ps.setString(i++, d);
            }
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    lastSeqs.put(rs.getString(1), rs.getLong(2));
                }
            }
        }
        // New devices get their row now; then each device's numbers are judged against its highest.
        Map<String, Long> base = new HashMap<>();
        GapBook book = new GapBook();
        for (Map.Entry<String, List<Long>> device : devices.entrySet()) {
            String deviceId = device.getKey();
            Long last = lastSeqs.get(deviceId);
            if (last == null) {
                long seq = device.getValue().get(0);
                try (PreparedStatement ps = c.prepareStatement(
                        "INSERT INTO devices (device_id, last_seq, last_event_at) VALUES (?, ?, ?)")) {
                    ps.setString(1, deviceId);
                    ps.setLong(2, seq);
                    ps.setObject(3, Rows.utc(at));
                    ps.executeUpdate();
                } catch (SQLException ex) {
                    if (SinkStore.DUPLICATE_KEY.equals(ex.getSQLState())) {
                        throw new SinkStore.Tx.Conflict(deviceId, ex);
                    }
                    throw ex;
                }
                last = seq;
            }
            base.put(deviceId, last);
        }
        // The stored gaps can only hold numbers up to the device's highest before the batch.
        Map<String, long[]> ranges = new TreeMap<>();
        for (Map.Entry<String, List<Long>> device : devices.entrySet()) {
            long below = base.get(device.getKey());
            boolean fresh = !lastSeqs.containsKey(device.getKey());
            List<Long> seqs = device.getValue();
            for (int i = fresh ? 1 : 0; i < seqs.size(); i++) {
                long seq = seqs.get(i);
                if (seq <= below) {
                    long[] r = ranges.computeIfAbsent(device.getKey(), d -> new long[] {seq, seq});
                    r[0] = Math.min(r[0], seq);
                    r[1] = Math.max(r[1], seq);
                }
            }
        }
        book.load(c, ranges);
        Map<String, Long> raised = new TreeMap<>();
        for (Map.Entry<String, List<Long>> device : devices.entrySet()) {
            String deviceId = device.getKey();
            List<Long> seqs = device.getValue();
            List<SeqNote> notes = new ArrayList<>(seqs.size());
            out.put(deviceId, notes);
            int from = 0;
            if (!lastSeqs.containsKey(deviceId)) {
                long seq = seqs.get(0);
                notes.add(seq > 1 ? new SeqNote(book.open(new SeqGap(deviceId, 1, seq - 1, at)), null) : SeqNote.NONE);
                from = 1;
            }
            long highest = base.get(deviceId);
            for (int i = from; i < seqs.size(); i++) {
                long seq = seqs.get(i);
                notes.add(step(book, deviceId, highest, seq, at));
                highest = Math.max(highest, seq);
            }
            if (from < seqs.size()) {
                raised.put(deviceId, highest);
            }
        }
        book.write(c);
        if (!raised.isEmpty()) {
            try (PreparedStatement ps = c.prepareStatement("UPDATE devices SET last_seq = GREATEST(last_seq, ?), "
                    + "last_event_at = ? WHERE device_id = ?")) {
                for (Map.Entry<String, Long> d : raised.entrySet()) {
                    ps.setLong(1, d.getValue());
                    ps.setObject(2, Rows.utc(at));
                    ps.setString(3, d.getKey());
                    ps.addBatch();
                }
                ps.executeBatch();
            }
        }
        return out;
    }

    /** One number against the highest before it: opens a gap, fills one, or is the next. */
    private static SeqNote step(GapBook book, String deviceId, long last, long seq, Instant at) {
        if (seq > last + 1) {
            return new SeqNote(book.open(new SeqGap(deviceId, last + 1, seq - 1, at)), null);
        }
        if (seq > last) {
            return SeqNote.NONE;
        }
        SeqGap hit = book.fill(deviceId, seq);
        // none: an old number outside any gap, e.g. a gateway whose counter restarted
        return hit == null ? SeqNote.NONE : new SeqNote(null, hit);
    }
}
