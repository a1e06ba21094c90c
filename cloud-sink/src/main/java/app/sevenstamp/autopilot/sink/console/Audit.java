package app.sevenstamp.autopilot.sink.console;

import app.sevenstamp.autopilot.sink.store.SinkStore;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.time.Clock;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * The audit log of operator actions ({@code operator_audit}): who did what to which thing, and when.
 * Card corrections are in the ledger as well, with the operator as the line's actor; this log also
 * holds what touches no card (sign-ins, accounts, devices, vouchers).
 */
public final class Audit {
    private final SinkStore store;
    private final Clock clock;

    public Audit(SinkStore store, Clock clock) {
        this.store = Objects.requireNonNull(store, "store");
        this.clock = Objects.requireNonNull(clock, "clock");
    }

    public void record(String actor, String action, String target, String detail) {
        store.transaction(tx -> {
            try (PreparedStatement ps = tx.connection().prepareStatement(
                    "INSERT INTO operator_audit (at, actor, action, target, detail) VALUES (?, ?, ?, ?, ?)")) {
                ps.setObject(1, clock.instant().atOffset(ZoneOffset.UTC));
                ps.setString(2, cut(actor, 80));
                ps.setString(3, cut(action, 40));
                ps.setString(4, target == null ? null : cut(target, 200));
                ps.setString(5, detail == null ? null : cut(detail, 500));
                ps.executeUpdate();
            }
            return null;
        });
    }

    /** The newest {@code limit} lines, newest first. */
    public List<Map<String, Object>> latest(int limit) {
        return store.transaction(tx -> {
            List<Map<String, Object>> out = new ArrayList<>();
            try (PreparedStatement ps = tx.connection().prepareStatement(
                    "SELECT id, at, actor, action, target, detail FROM operator_audit ORDER BY id DESC LIMIT ?")) {
                ps.setInt(1, limit);
                try (ResultSet rs = ps.executeQuery()) {
                    while (rs.next()) {
                        Map<String, Object> m = new LinkedHashMap<>();
                        m.put("id", rs.getLong(1));
                        m.put("at", rs.getObject(2, OffsetDateTime.class).toInstant().toString());
                        m.put("actor", rs.getString(3));
                        m.put("action", rs.getString(4));
                        m.put("target", rs.getString(5));
                        m.put("detail", rs.getString(6));
                        out.add(m);
                    }
                }
            }
            return out;
        });
    }

    private static String cut(String s, int max) {
        return s.length() <= max ? s : s.substring(0, max);
    }
}
