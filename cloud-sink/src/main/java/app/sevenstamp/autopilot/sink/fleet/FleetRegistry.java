package app.sevenstamp.autopilot.sink.fleet;

import app.sevenstamp.autopilot.sink.store.SinkStore;
import app.sevenstamp.autopilot.sink.store.StoreException;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;

/**
 * The device registry and the claims, in the sink's database (tables {@code fleet_*}; the SQL is the
 * same on H2 and PostgreSQL, FleetRegistryTest runs it on both). Thread-safe:
 * every call takes its own pooled connection; the claim check-and-use is one transaction with the
 * claim row locked, so two boxes racing for the last use cannot both get it.
 */
public final class FleetRegistry {
    private static final ObjectMapper JSON = new ObjectMapper();

    private final SinkStore store;

    public FleetRegistry(SinkStore store) {
        this.store = store;
    }

    public record Claim(String token, String location, int usesTotal, int usesLeft, Instant expiresAt, Instant createdAt) {
    }

    public record Device(String deviceId, String hardwareId, String location, String claimToken, String passwordHash,
            Instant provisionedAt, long desiredVersion, Map<String, String> desiredConfig, boolean online,
            String lastStatus, Instant lastSeenAt, Instant revokedAt) {
        public boolean revoked() {
            return revokedAt != null;
        }
    }

    public record Command(String commandId, String deviceId, String command, String argument, Instant issuedAt,
            Boolean ok, String result, Instant ackedAt) {
    }

    public void createClaim(Claim c) {
        run(conn -> {
            try (PreparedStatement st = conn.prepareStatement(
                    "INSERT INTO fleet_claims(token, location, uses_total, uses_left, expires_at, created_at) VALUES (?,?,?,?,?,?)")) {
                st.setString(1, c.token());
                st.setString(2, c.location());
                st.setInt(3, c.usesTotal());
                st.setInt(4, c.usesLeft());
                st.setObject(5, utc(c.expiresAt()));
                st.setObject(6, utc(c.createdAt()));
                st.executeUpdate();
            }
            return null;
        });
    }

    public List<Claim> claims() {
        return run(conn -> {
            List<Claim> out = new ArrayList<>();
            try (PreparedStatement st = conn.prepareStatement("SELECT * FROM fleet_claims ORDER BY created_at");
                    ResultSet rs = st.executeQuery()) {
                while (rs.next()) {
                    out.add(claim(rs));
                }
            }
            return out;
        });
    }

    /** What a provisioning request decided. */
    public sealed interface Decision {
    }

    public record Refused(String reason) implements Decision {
    }

    /** @param fresh true for a new device, false for a password rotation of a known one */
    public record Granted(String deviceId, String location, boolean fresh) implements Decision {
    }

    /**
     * Checks the claim and binds the hardware id, in one transaction. A known hardware id keeps its
     * device id and only gets a new password (with a valid claim, without using it up); an unknown one
     * uses one of the claim's uses and becomes a new device. The password hash is stored with it.
     */
    public Decision provision(String token, String hardwareId, Instant now, String passwordHash,
            java.util.function.Function<String, String> newDeviceId) {
        return transaction(conn -> {
            Claim claim;
            try (PreparedStatement st = conn.prepareStatement("SELECT * FROM fleet_claims WHERE token = ? FOR UPDATE")) {
                st.setString(1, token);
                try (ResultSet rs = st.executeQuery()) {
                    if (!rs.next()) {
                        return new Refused("unknown claim");
                    }
                    claim = claim(rs);
                }
            }
            if (!now.isBefore(claim.expiresAt())) {
                return new Refused("claim expired at " + claim.expiresAt());
            }
            Optional<Device> known = device(conn, "hardware_id", hardwareId);
            if (known.isPresent() && known.get().revoked()) {
                // a revoked box comes back only with a claim other than the one it had, and uses one of its uses
                if (token.equals(known.get().claimToken())) {
                    return new Refused("device " + known.get().deviceId() + " was revoked at " + known.get().revokedAt()
                            + "; provisioning it again needs a new claim");
                }
                if (claim.usesLeft() <= 0) {
                    return new Refused("claim used up (" + claim.usesTotal() + " of " + claim.usesTotal() + " uses)");
                }
                useOne(conn, token);
                try (PreparedStatement st = conn.prepareStatement("UPDATE fleet_devices SET password_hash = ?, provisioned_at = ?, "
                        + "claim_token = ?, location = ?, revoked_at = NULL WHERE device_id = ?")) {
                    st.setString(1, passwordHash);
                    st.setObject(2, utc(now));
                    st.setString(3, token);
                    st.setString(4, claim.location());
                    st.setString(5, known.get().deviceId());
                    st.executeUpdate();
                }
                return new Granted(known.get().deviceId(), claim.location(), true);
            }
            if (known.isPresent()) {
                try (PreparedStatement st = conn.prepareStatement(
                        "UPDATE fleet_devices SET password_hash = ?, provisioned_at = ? WHERE device_id = ?")) {
                    st.setString(1, passwordHash);
                    st.setObject(2, utc(now));
                    st.setString(3, known.get().deviceId());
                    st.executeUpdate();
                }
                return new Granted(known.get().deviceId(), known.get().location(), false);
            }
            if (claim.usesLeft() <= 0) {
                return new Refused("claim used up (" + claim.usesTotal() + " of " + claim.usesTotal() + " uses)");
            }
            useOne(conn, token);
            String id = newDeviceId.apply(claim.location());
            for (int i = 2; device(conn, "device_id", id).isPresent(); i++) {
                id = newDeviceId.apply(claim.location()) + "-" + i;
            }
            // the loop above found the id free, in this transaction
            try (PreparedStatement st = conn.prepareStatement("INSERT INTO fleet_devices(device_id, hardware_id, location, "
                    + "claim_token, password_hash, provisioned_at) VALUES (?,?,?,?,?,?)")) {
                st.setString(1, id);
                st.setString(2, hardwareId);
                st.setString(3, claim.location());
                st.setString(4, token);
                st.setString(5, passwordHash);
                st.setObject(6, utc(now));
                st.executeUpdate();
            }
            return new Granted(id, claim.location(), true);
        });
    }

    /**
     * Marks the device revoked and forgets its password hash; it keeps its row (history, hardware id)
     * so that the same box cannot come back with its old claim.
     *
     * @return the revoked device, empty when there is no such device
     */
    public Optional<Device> revoke(String deviceId, Instant at) {
        return transaction(conn -> {
            try (PreparedStatement st = conn.prepareStatement(
                    "UPDATE fleet_devices SET revoked_at = COALESCE(revoked_at, ?), password_hash = NULL, online = FALSE "
                            + "WHERE device_id = ?")) {
                st.setObject(1, utc(at));
                st.setString(2, deviceId);
                if (st.executeUpdate() == 0) {
                    return Optional.empty();
                }
            }
            return device(conn, "device_id", deviceId);
        });
    }

    /** The ids of the revoked devices. */
    public java.util.Set<String> revokedIds() {
        return run(conn -> {
            java.util.Set<String> out = new java.util.HashSet<>();
            try (PreparedStatement st = conn.prepareStatement("SELECT device_id FROM fleet_devices WHERE revoked_at IS NOT NULL");
                    ResultSet rs = st.executeQuery()) {
                while (rs.next()) {
                    out.add(rs.getString(1));
                }
            }
            return out;
        });
    }

    public List<Device> devices() {
        return run(conn -> {
            List<Device> out = new ArrayList<>();
            try (PreparedStatement st = conn.prepareStatement("SELECT * FROM fleet_devices ORDER BY device_id");
                    ResultSet rs = st.executeQuery()) {
                while (rs.next()) {
                    out.add(device(rs));
                }
            }
            return out;
        });
    }

    public Optional<Device> device(String deviceId) {
        return run(conn -> device(conn, "device_id", deviceId));
    }

    /** Provisioned devices and their password hashes, for the embedded broker's authenticator. */
    public Map<String, String> passwordHashes() {
        Map<String, String> out = new TreeMap<>();
        for (Device d : devices()) {
            if (d.passwordHash() != null) {
                out.put(d.deviceId(), d.passwordHash());
            }
        }
        return out;
    }

    /**
     * Sets (or with a null value removes) keys of the desired configuration and bumps its version.
     * Creates the device row for a device that was only ever seen by its status.
     */
    public Device updateConfig(String deviceId, Map<String, String> changes) {
        return transaction(conn -> {
            ensureDevice(conn, deviceId);
            Device d = device(conn, "device_id", deviceId).orElseThrow();
            Map<String, String> config = new TreeMap<>(d.desiredConfig());
            changes.forEach((k, v) -> {
                if (v == null || v.isEmpty()) {
                    config.remove(k);
                } else {
                    config.put(k, v);
                }
            });
            try (PreparedStatement st = conn.prepareStatement(
                    "UPDATE fleet_devices SET desired_config = ?, desired_version = desired_version + 1 WHERE device_id = ?")) {
                st.setString(1, json(config));
                st.setString(2, deviceId);
                st.executeUpdate();
            }
            return device(conn, "device_id", deviceId).orElseThrow();
        });
    }

    /** Notes a status message: online flag, the status JSON, when. */
    public void noteStatus(String deviceId, boolean online, String statusJson, Instant at) {
        transaction(conn -> {
            ensureDevice(conn, deviceId);
            try (PreparedStatement st = conn.prepareStatement(
                    "UPDATE fleet_devices SET online = ?, last_status = ?, last_seen_at = ? WHERE device_id = ?")) {
                st.setBoolean(1, online);
                st.setString(2, statusJson);
                st.setObject(3, utc(at));
                st.setString(4, deviceId);
                st.executeUpdate();
            }
            return null;
        });
    }

    public void addCommand(Command c) {
        run(conn -> {
            try (PreparedStatement st = conn.prepareStatement("INSERT INTO fleet_commands(command_id, device_id, command, "
                    + "argument, issued_at) VALUES (?,?,?,?,?)")) {
                st.setString(1, c.commandId());
                st.setString(2, c.deviceId());
                st.setString(3, c.command());
                st.setString(4, c.argument());
                st.setObject(5, utc(c.issuedAt()));
                st.executeUpdate();
            }
            return null;
        });
    }

    /** Records a command's result; false when the command is unknown or belongs to another device. */
    public boolean ackCommand(String commandId, String deviceId, boolean ok, String result, Instant at) {
        return run(conn -> {
            try (PreparedStatement st = conn.prepareStatement("UPDATE fleet_commands SET ok = ?, result = ?, acked_at = ? "
                    + "WHERE command_id = ? AND device_id = ?")) {
                st.setBoolean(1, ok);
                st.setString(2, result == null ? null : result.length() > 1000 ? result.substring(0, 1000) : result);
                st.setObject(3, utc(at));
                st.setString(4, commandId);
                st.setString(5, deviceId);
                return st.executeUpdate() == 1;
            }
        });
    }

    public Optional<Command> command(String commandId) {
        return run(conn -> {
            try (PreparedStatement st = conn.prepareStatement("SELECT * FROM fleet_commands WHERE command_id = ?")) {
                st.setString(1, commandId);
                try (ResultSet rs = st.executeQuery()) {
                    return rs.next() ? Optional.of(command(rs)) : Optional.empty();
                }
            }
        });
    }

    public List<Command> commands(String deviceId, int limit) {
        return run(conn -> {
            List<Command> out = new ArrayList<>();
            try (PreparedStatement st = conn.prepareStatement(
                    "SELECT * FROM fleet_commands WHERE device_id = ? ORDER BY issued_at DESC LIMIT ?")) {
                st.setString(1, deviceId);
                st.setInt(2, limit);
                try (ResultSet rs = st.executeQuery()) {
                    while (rs.next()) {
                        out.add(command(rs));
                    }
                }
            }
            return out;
        });
    }

    // --- plumbing

    private interface Sql<T> {
        T run(Connection c) throws SQLException;
    }

    private <T> T run(Sql<T> sql) {
        try (Connection c = store.connection()) {
            return sql.run(c);
        } catch (SQLException e) {
            throw new StoreException("fleet registry: " + e.getMessage(), e);
        }
    }

    private <T> T transaction(Sql<T> sql) {
        return run(c -> {
            c.setAutoCommit(false);
            try {
                T result = sql.run(c);
                c.commit();
                return result;
            } catch (SQLException | RuntimeException e) {
                c.rollback();
                throw e;
            } finally {
                c.setAutoCommit(true);
            }
        });
    }

    private static void useOne(Connection conn, String token) throws SQLException {
        try (PreparedStatement st = conn.prepareStatement("UPDATE fleet_claims SET uses_left = uses_left - 1 WHERE token = ?")) {
            st.setString(1, token);
            st.executeUpdate();
        }
    }

    private static void ensureDevice(Connection conn, String deviceId) throws SQLException {
        try (PreparedStatement st = conn.prepareStatement(
                "INSERT INTO fleet_devices(device_id) SELECT ? WHERE NOT EXISTS "
                        + "(SELECT 1 FROM fleet_devices WHERE device_id = ?)")) {
            st.setString(1, deviceId);
            st.setString(2, deviceId);
            st.executeUpdate();
        }
    }

    private static Optional<Device> device(Connection conn, String column, String value) throws SQLException {
        try (PreparedStatement st = conn.prepareStatement("SELECT * FROM fleet_devices WHERE " + column + " = ?")) {
            st.setString(1, value);
            try (ResultSet rs = st.executeQuery()) {
                return rs.next() ? Optional.of(device(rs)) : Optional.empty();
            }
        }
    }

    private static Claim claim(ResultSet rs) throws SQLException {
        return new Claim(rs.getString("token"), rs.getString("location"), rs.getInt("uses_total"), rs.getInt("uses_left"),
                instant(rs, "expires_at"), instant(rs, "created_at"));
    }

    private static Device device(ResultSet rs) throws SQLException {
        return new Device(rs.getString("device_id"), rs.getString("hardware_id"), rs.getString("location"),
                rs.getString("claim_token"), rs.getString("password_hash"), instant(rs, "provisioned_at"),
                rs.getLong("desired_version"), map(rs.getString("desired_config")), rs.getBoolean("online"),
                rs.getString("last_status"), instant(rs, "last_seen_at"), instant(rs, "revoked_at"));
    }

    private static Command command(ResultSet rs) throws SQLException {
        boolean ok = rs.getBoolean("ok");
        Boolean okOrNull = rs.wasNull() ? null : ok;
        return new Command(rs.getString("command_id"), rs.getString("device_id"), rs.getString("command"),
                rs.getString("argument"), instant(rs, "issued_at"), okOrNull, rs.getString("result"),
                instant(rs, "acked_at"));
    }

    private static Instant instant(ResultSet rs, String column) throws SQLException {
        OffsetDateTime t = rs.getObject(column, OffsetDateTime.class);
        return t == null ? null : t.toInstant();
    }

    private static OffsetDateTime utc(Instant at) {
        return at == null ? null : at.atOffset(ZoneOffset.UTC);
    }

    private static Map<String, String> map(String json) {
        try {
            return json == null ? Map.of() : new LinkedHashMap<>(JSON.readValue(json, new TypeReference<Map<String, String>>() { }));
        } catch (JsonProcessingException e) {
            throw new StoreException("fleet registry: unreadable desired config: " + e.getMessage(), e);
        }
    }

    private static String json(Map<String, String> map) {
        try {
            return JSON.writeValueAsString(map);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }

}
