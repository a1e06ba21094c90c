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

    /**
     * @param publicKey                the box's Ed25519 public key (base64url), pinned at provisioning; null for a
     *                                 gateway older than device keys
     * @param reprovisionApprovedUntil an operator allowed one re-provisioning without the pinned key until then
     */
    public record Device(String deviceId, String hardwareId, String location, String claimToken, String passwordHash,
            Instant provisionedAt, long desiredVersion, Map<String, String> desiredConfig, boolean online,
            String lastStatus, Instant lastSeenAt, Instant revokedAt, String publicKey, Instant reprovisionApprovedUntil) {
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

    /** Why credentials were given. */
    public enum Basis {
        /** hardware never seen: one of the claim's uses */
        NEW_DEVICE,
        /** a known box that signed with the key pinned to it */
        OWN_KEY,
        /** a known box without its key, once, because an operator approved it */
        OPERATOR_APPROVAL,
        /** a revoked box back with a new claim: one of its uses */
        NEW_CLAIM_AFTER_REVOCATION
    }

    /** @param fresh true for a new (or revoked and returning) device, false for a password rotation of a known one */
    public record Granted(String deviceId, String location, boolean fresh, Basis basis) implements Decision {
    }

    /**
     * Checks the claim and binds the hardware id, in one transaction (the claim row locked).
     *
     * <ul>
     * <li>Unknown hardware: uses one of the claim's uses, becomes a new device, and its key (if any) is pinned.
     * <li>A known box (proof of possession, not knowledge): only when the request is signed with the key pinned
     *     to it (no use taken, even from a used-up claim: the key is the credential), or once after an operator's
     *     approval, which pins the request's key. Otherwise refused: a claim and a hardware id are printed on
     *     boxes and in logs, and must not re-issue credentials.
     * <li>A revoked box: only with a claim other than its old one, using one of its uses; its key is pinned anew.
     * </ul>
     *
     * @param publicKey the request's public key, only when the request was signed by it (the caller checks); null
     *                  for an old gateway's unsigned request
     * @param nonce     the request's nonce, remembered with a grant so that a recorded request cannot be replayed;
     *                  null to remember nothing
     */
    public Decision provision(String token, String hardwareId, String publicKey, String nonce, Instant now,
            String passwordHash, java.util.function.Function<String, String> newDeviceId) {
        return provision(token, hardwareId, publicKey, nonce, now, () -> passwordHash, newDeviceId);
    }

    /**
     * As above, with the new password's hash made only for a grant: a PBKDF2 hash costs milliseconds, and
     * anyone holding the public provisioning login can send requests that are refused.
     */
    public Decision provision(String token, String hardwareId, String publicKey, String nonce, Instant now,
            java.util.function.Supplier<String> passwordHash, java.util.function.Function<String, String> newDeviceId) {
        return transaction(conn -> {
            Decision d = decide(conn, token, hardwareId, publicKey, nonce, now, passwordHash, newDeviceId);
            if (d instanceof Granted g && nonce != null) {
                try (PreparedStatement st = conn.prepareStatement(
                        "INSERT INTO fleet_provision_nonces(nonce, device_id, used_at) VALUES (?,?,?)")) {
                    st.setString(1, nonce);
                    st.setString(2, g.deviceId());
                    st.setObject(3, utc(now));
                    st.executeUpdate();
                }
            }
            return d;
        });
    }

    private Decision decide(Connection conn, String token, String hardwareId, String publicKey, String nonce, Instant now,
            java.util.function.Supplier<String> passwordHash, java.util.function.Function<String, String> newDeviceId)
            throws SQLException {
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
        if (nonce != null) {
            try (PreparedStatement st = conn.prepareStatement("SELECT used_at FROM fleet_provision_nonces WHERE nonce = ?")) {
                st.setString(1, nonce);
                try (ResultSet rs = st.executeQuery()) {
                    if (rs.next()) {
                        return new Refused("replayed request: nonce " + nonce + " was already used at "
                                + instant(rs, "used_at") + "; a box sends a new nonce with every attempt");
                    }
                }
            }
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
                    + "claim_token = ?, location = ?, revoked_at = NULL, public_key = ?, reprovision_approved_until = NULL "
                    + "WHERE device_id = ?")) {
                st.setString(1, passwordHash.get());
                st.setObject(2, utc(now));
                st.setString(3, token);
                st.setString(4, claim.location());
                st.setString(5, publicKey);
                st.setString(6, known.get().deviceId());
                st.executeUpdate();
            }
            return new Granted(known.get().deviceId(), claim.location(), true, Basis.NEW_CLAIM_AFTER_REVOCATION);
        }
        if (known.isPresent()) {
            Device k = known.get();
            Basis basis;
            if (k.publicKey() != null && k.publicKey().equals(publicKey)) {
                basis = Basis.OWN_KEY;
            } else if (k.reprovisionApprovedUntil() != null && now.isBefore(k.reprovisionApprovedUntil())) {
                basis = Basis.OPERATOR_APPROVAL;
            } else {
                String why = k.publicKey() == null
                        ? "device " + k.deviceId() + " was provisioned without a device key (older gateway)"
                        : publicKey == null
                                ? "device " + k.deviceId() + " has a device key and this request is not signed"
                                : "device " + k.deviceId() + " is provisioned with another device key";
                return new Refused(why + "; a claim and a hardware id do not re-provision a box: it needs its own key "
                        + "or an operator's approval (devices approve " + k.deviceId() + ")");
            }
            // the approval is used up, and the key that proved itself now is the one pinned
            try (PreparedStatement st = conn.prepareStatement("UPDATE fleet_devices SET password_hash = ?, provisioned_at = ?, "
                    + "public_key = ?, reprovision_approved_until = NULL WHERE device_id = ?")) {
                st.setString(1, passwordHash.get());
                st.setObject(2, utc(now));
                st.setString(3, publicKey);
                st.setString(4, k.deviceId());
                st.executeUpdate();
            }
            return new Granted(k.deviceId(), k.location(), false, basis);
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
                + "claim_token, password_hash, provisioned_at, public_key) VALUES (?,?,?,?,?,?,?)")) {
            st.setString(1, id);
            st.setString(2, hardwareId);
            st.setString(3, claim.location());
            st.setString(4, token);
            st.setString(5, passwordHash.get());
            st.setObject(6, utc(now));
            st.setString(7, publicKey);
            st.executeUpdate();
        }
        return new Granted(id, claim.location(), true, Basis.NEW_DEVICE);
    }

    /**
     * Allows one re-provisioning of a provisioned box without its pinned key (a replaced SD card, a lost key),
     * until {@code until}; the request then gets new credentials and its key is pinned. A revoked device needs a
     * new claim instead.
     *
     * @return the device, empty when there is no provisioned device of that id
     * @throws IllegalStateException the device is revoked
     */
    public Optional<Device> approveReprovisioning(String deviceId, Instant until) {
        return transaction(conn -> {
            Optional<Device> d = device(conn, "device_id", deviceId);
            if (d.isEmpty() || d.get().hardwareId() == null) {
                return Optional.empty();
            }
            if (d.get().revoked()) {
                throw new IllegalStateException("device " + deviceId + " was revoked at " + d.get().revokedAt()
                        + "; provisioning it again needs a new claim, not an approval");
            }
            try (PreparedStatement st = conn.prepareStatement(
                    "UPDATE fleet_devices SET reprovision_approved_until = ? WHERE device_id = ?")) {
                st.setObject(1, utc(until));
                st.setString(2, deviceId);
                st.executeUpdate();
            }
            return device(conn, "device_id", deviceId);
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
                rs.getString("last_status"), instant(rs, "last_seen_at"), instant(rs, "revoked_at"),
                rs.getString("public_key"), instant(rs, "reprovision_approved_until"));
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
