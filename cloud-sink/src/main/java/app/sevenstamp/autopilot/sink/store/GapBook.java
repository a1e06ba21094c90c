package app.sevenstamp.autopilot.sink.store;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * The sequence gaps of a batch's devices, kept in memory while the batch's numbers are noted
 * ({@link SinkStore.Tx#noteDeviceSeqs}) and written back at the end: one query reads (and locks) the
 * stored gaps the batch's late numbers can fall into, one JDBC batch deletes the gaps that were
 * filled or split, one inserts the new ones. Each number still sees the gaps as the numbers before
 * it left them, so the rows and the notes are those of noting them one by one. The caller holds the
 * device rows' locks, which guard their gaps.
 */
final class GapBook {
    /** Gaps by device, by first number. */
    private final Map<String, TreeMap<Long, SeqGap>> gaps = new HashMap<>();
    /** Stored gaps that are gone or replaced: their keys, to delete. */
    private final List<SeqGap> deleted = new ArrayList<>();
    /** Gaps that are not stored yet, by device and first number. */
    private final Map<String, Map<Long, SeqGap>> added = new LinkedHashMap<>();

    /**
     * Reads the stored gaps that may hold the numbers in {@code [range[0], range[1]]} of each device
     * (locked, as the one-by-one path locks the gap it fills), in one statement.
     */
    void load(Connection c, Map<String, long[]> ranges) throws SQLException {
        if (ranges.isEmpty()) {
            return;
        }
        List<String> terms = new ArrayList<>();
        for (int i = 0; i < ranges.size(); i++) {
            terms.add("(device_id = ? AND to_seq >= ? AND from_seq <= ?)");
        }
        try (PreparedStatement ps = c.prepareStatement("SELECT device_id, from_seq, to_seq, detected_at FROM device_gaps "
                + "WHERE " + String.join(" OR ", terms) + " ORDER BY device_id, from_seq FOR UPDATE")) {
            int k = 1;
            for (Map.Entry<String, long[]> r : ranges.entrySet()) {
                ps.setString(k++, r.getKey());
                ps.setLong(k++, r.getValue()[0]);
                ps.setLong(k++, r.getValue()[1]);
            }
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    SeqGap g = new SeqGap(rs.getString(1), rs.getLong(2), rs.getLong(3),
                            rs.getObject(4, OffsetDateTime.class).toInstant());
                    of(g.deviceId()).put(g.from(), g);
                }
            }
        }
    }

    /** Opens a gap: kept, and written at {@link #write}. */
    SeqGap open(SeqGap gap) {
        of(gap.deviceId()).put(gap.from(), gap);
        added.computeIfAbsent(gap.deviceId(), d -> new HashMap<>()).put(gap.from(), gap);
        return gap;
    }

    /**
     * A late number: the gap that held it, now shrunk, split or closed; null when it falls in no
     * gap. Only gaps loaded for a range that holds {@code seq}, or opened in this batch, are seen.
     */
    SeqGap fill(String deviceId, long seq) {
        Map.Entry<Long, SeqGap> e = of(deviceId).floorEntry(seq);
        if (e == null || e.getValue().to() < seq) {
            return null;
        }
        SeqGap hit = e.getValue();
        of(deviceId).remove(hit.from());
        Map<Long, SeqGap> mine = added.get(deviceId);
        if (mine == null || mine.remove(hit.from()) == null) {
            deleted.add(hit);
        }
        if (hit.from() < seq) {
            open(new SeqGap(deviceId, hit.from(), seq - 1, hit.detectedAt()));
        }
        if (seq < hit.to()) {
            open(new SeqGap(deviceId, seq + 1, hit.to(), hit.detectedAt()));
        }
        return hit;
    }

    /** Deletes the stored gaps that changed, then inserts the new ones (a split part may keep the old first number). */
    void write(Connection c) throws SQLException {
        if (!deleted.isEmpty()) {
            try (PreparedStatement ps = c.prepareStatement("DELETE FROM device_gaps WHERE device_id = ? AND from_seq = ?")) {
                for (SeqGap g : deleted) {
                    ps.setString(1, g.deviceId());
                    ps.setLong(2, g.from());
                    ps.addBatch();
                }
                ps.executeBatch();
            }
        }
        List<SeqGap> inserts = new ArrayList<>();
        added.values().forEach(m -> inserts.addAll(m.values()));
        if (!inserts.isEmpty()) {
            try (PreparedStatement ps = c.prepareStatement(
                    "INSERT INTO device_gaps (device_id, from_seq, to_seq, detected_at) VALUES (?, ?, ?, ?)")) {
                for (SeqGap g : inserts) {
                    ps.setString(1, g.deviceId());
                    ps.setLong(2, g.from());
                    ps.setLong(3, g.to());
                    ps.setObject(4, g.detectedAt().atOffset(ZoneOffset.UTC));
                    ps.addBatch();
                }
                ps.executeBatch();
            }
        }
    }

    private TreeMap<Long, SeqGap> of(String deviceId) {
        return gaps.computeIfAbsent(deviceId, d -> new TreeMap<>());
    }
}
