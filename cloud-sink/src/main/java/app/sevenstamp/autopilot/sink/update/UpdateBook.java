package app.sevenstamp.autopilot.sink.update;

import app.sevenstamp.autopilot.sink.store.SinkStore;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * The published gateway versions ({@code update_releases}) and each box's state in a rollout
 * ({@code update_rollout}, one row per box and version), in the sink's database (migration 18).
 */
public final class UpdateBook {
    /** One published version. */
    public record Release(String version, String url, String sha256, long size, Instant publishedAt) {
    }

    /** One box in the rollout of one version. */
    public record Row(String deviceId, String version, String stage, String state, String detail, Instant sentAt,
            Instant updatedAt) {
    }

    private final SinkStore store;

    public UpdateBook(SinkStore store) {
        this.store = store;
    }

    /** Adds a release; false when the version is published already (a version is never re-pointed at another file). */
    public boolean publish(Release r) {
        return store.transaction(tx -> {
            Connection c = tx.connection();
            if (release(c, r.version()).isPresent()) {
                return false;
            }
            try (PreparedStatement st = c.prepareStatement(
                    "INSERT INTO update_releases (version, url, sha256, size_bytes, published_at) VALUES (?,?,?,?,?)")) {
                st.setString(1, r.version());
                st.setString(2, r.url());
                st.setString(3, r.sha256());
                st.setLong(4, r.size());
                st.setObject(5, utc(r.publishedAt()));
                st.executeUpdate();
            }
            return true;
        });
    }

    public Optional<Release> release(String version) {
        return store.transaction(tx -> release(tx.connection(), version));
    }

    public List<Release> releases() {
        return store.transaction(tx -> {
            List<Release> out = new ArrayList<>();
            try (PreparedStatement st = tx.connection().prepareStatement(
                    "SELECT version, url, sha256, size_bytes, published_at FROM update_releases ORDER BY published_at");
                 ResultSet rs = st.executeQuery()) {
                while (rs.next()) {
                    out.add(new Release(rs.getString(1), rs.getString(2), rs.getString(3), rs.getLong(4), instant(rs, 5)));
                }
            }
            return out;
        });
    }

    private static Optional<Release> release(Connection c, String version) throws SQLException {
        try (PreparedStatement st = c.prepareStatement(
                "SELECT version, url, sha256, size_bytes, published_at FROM update_releases WHERE version = ?")) {
            st.setString(1, version);
            try (ResultSet rs = st.executeQuery()) {
                return rs.next() ? Optional.of(new Release(rs.getString(1), rs.getString(2), rs.getString(3), rs.getLong(4),
                        instant(rs, 5))) : Optional.empty();
            }
        }
    }

    /** Adds the box to the rollout of {@code version} as pending; false when it is in it already (its state stays). */
    public boolean enrol(String deviceId, String version, String stage, Instant now) {
        return store.transaction(tx -> {
            Connection c = tx.connection();
            if (row(c, deviceId, version).isPresent()) {
                return false;
            }
            try (PreparedStatement st = c.prepareStatement("INSERT INTO update_rollout (device_id, version, stage, state, "
                    + "updated_at) VALUES (?,?,?,'pending',?)")) {
                st.setString(1, deviceId);
                st.setString(2, version);
                st.setString(3, stage);
                st.setObject(4, utc(now));
                st.executeUpdate();
            }
            return true;
        });
    }

    public void sent(String deviceId, String version, Instant at) {
        store.transaction(tx -> {
            try (PreparedStatement st = tx.connection().prepareStatement(
                    "UPDATE update_rollout SET sent_at = ?, updated_at = ? WHERE device_id = ? AND version = ?")) {
                st.setObject(1, utc(at));
                st.setObject(2, utc(at));
                st.setString(3, deviceId);
                st.setString(4, version);
                st.executeUpdate();
            }
            return null;
        });
    }

    /** The box's own report: true when the row changed. */
    public boolean report(String deviceId, String version, String state, String detail, Instant at) {
        return store.transaction(tx -> {
            Connection c = tx.connection();
            Optional<Row> now = row(c, deviceId, version);
            if (now.isEmpty() || (now.get().state().equals(state) && java.util.Objects.equals(now.get().detail(), detail))) {
                return false;
            }
            try (PreparedStatement st = c.prepareStatement(
                    "UPDATE update_rollout SET state = ?, detail = ?, updated_at = ? WHERE device_id = ? AND version = ?")) {
                st.setString(1, state);
                st.setString(2, detail == null ? null : detail.length() > 500 ? detail.substring(0, 500) : detail);
                st.setObject(3, utc(at));
                st.setString(4, deviceId);
                st.setString(5, version);
                st.executeUpdate();
            }
            return true;
        });
    }

    public Optional<Row> row(String deviceId, String version) {
        return store.transaction(tx -> row(tx.connection(), deviceId, version));
    }

    /** Every row, newest version first, then by device. */
    public List<Row> rows() {
        return store.transaction(tx -> {
            List<Row> out = new ArrayList<>();
            try (PreparedStatement st = tx.connection().prepareStatement("SELECT r.device_id, r.version, r.stage, r.state, "
                    + "r.detail, r.sent_at, r.updated_at FROM update_rollout r JOIN update_releases v ON v.version = r.version "
                    + "ORDER BY v.published_at DESC, r.device_id");
                 ResultSet rs = st.executeQuery()) {
                while (rs.next()) {
                    out.add(row(rs));
                }
            }
            return out;
        });
    }

    /** The rows of one box, any version. */
    public List<Row> rowsOf(String deviceId) {
        return rows().stream().filter(r -> r.deviceId().equals(deviceId)).toList();
    }

    private static Optional<Row> row(Connection c, String deviceId, String version) throws SQLException {
        try (PreparedStatement st = c.prepareStatement("SELECT device_id, version, stage, state, detail, sent_at, updated_at "
                + "FROM update_rollout WHERE device_id = ? AND version = ?")) {
            st.setString(1, deviceId);
            st.setString(2, version);
            try (ResultSet rs = st.executeQuery()) {
                return rs.next() ? Optional.of(row(rs)) : Optional.empty();
            }
        }
    }

    private static Row row(ResultSet rs) throws SQLException {
        return new Row(rs.getString(1), rs.getString(2), rs.getString(3), rs.getString(4), rs.getString(5), instant(rs, 6),
                instant(rs, 7));
    }

    private static OffsetDateTime utc(Instant t) {
        return t.atOffset(ZoneOffset.UTC);
    }

    private static Instant instant(ResultSet rs, int col) throws SQLException {
        OffsetDateTime t = rs.getObject(col, OffsetDateTime.class);
        return t == null ? null : t.toInstant();
    }
}
