package app.sevenstamp.autopilot.sink.wallet.apple;

import app.sevenstamp.autopilot.sink.store.SinkStore;
import app.sevenstamp.autopilot.sink.store.StoreException;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.SecureRandom;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HexFormat;
import java.util.List;
import java.util.Optional;

/**
 * The Apple passes the sink gave out, in the store: one row per card that has a pass ({@code apple_passes}),
 * the SHA-256 of every copy's authenticationToken ({@code apple_pass_tokens}), and the devices that
 * registered for updates ({@code apple_registrations}). Each method is one short transaction on a pooled
 * connection; thread-safe.
 */
final class PassBook {
    /** Downloads a card keeps working tokens for; an older copy stops getting updates (docs/wallet.md). */
    static final int TOKENS_PER_PASS = 10;

    /** A pass: its program and when it last changed (whole seconds, the Last-Modified). */
    record Pass(String serial, String programId, Instant updatedAt) {
    }

    /** A device's answer to "what changed since": the serials and the tag to ask with next time. */
    record Changed(List<String> serials, long lastUpdated) {
    }

    private final SinkStore store;
    private final SecureRandom random;

    PassBook(SinkStore store, SecureRandom random) {
        this.store = store;
        this.random = random;
    }

    Optional<Pass> pass(String serial) {
        return store.transaction(tx -> {
            try (PreparedStatement ps = tx.connection().prepareStatement(
                    "SELECT program_id, updated_at FROM apple_passes WHERE serial = ?")) {
                ps.setString(1, serial);
                try (ResultSet rs = ps.executeQuery()) {
                    return rs.next() ? Optional.of(new Pass(serial, rs.getString(1), rs.getObject(2, OffsetDateTime.class).toInstant()))
                            : Optional.<Pass>empty();
                }
            }
        });
    }

    /**
     * A new copy of the card's pass: creates the pass row if needed and returns a fresh token (24 random
     * bytes, 32 characters), of which only the hash is kept. The oldest tokens beyond {@link #TOKENS_PER_PASS} go.
     */
    String newToken(String serial, String programId, Instant now) {
        byte[] b = new byte[24];
        random.nextBytes(b);
        String token = Base64.getUrlEncoder().withoutPadding().encodeToString(b);
        try {
            addToken(serial, programId, token, now);
        } catch (StoreException e) {
            if (!(e.getCause() instanceof SQLException sql) || !"23505".equals(sql.getSQLState())) {
                throw e;
            }
            // two first downloads of one card at once: both saw no pass row, one inserted it; now it exists
            addToken(serial, programId, token, now);
        }
        return token;
    }

    private void addToken(String serial, String programId, String token, Instant now) {
        store.transaction(tx -> {
            boolean exists;
            try (PreparedStatement ps = tx.connection().prepareStatement("SELECT 1 FROM apple_passes WHERE serial = ? FOR UPDATE")) {
                ps.setString(1, serial);
                try (ResultSet rs = ps.executeQuery()) {
                    exists = rs.next();
                }
            }
            if (!exists) {
                try (PreparedStatement ps = tx.connection().prepareStatement(
                        "INSERT INTO apple_passes (serial, program_id, created_at, updated_at) VALUES (?, ?, ?, ?)")) {
                    ps.setString(1, serial);
                    ps.setString(2, programId);
                    ps.setObject(3, now.atOffset(ZoneOffset.UTC));
                    ps.setObject(4, now.truncatedTo(ChronoUnit.SECONDS).atOffset(ZoneOffset.UTC));
                    ps.executeUpdate();
                }
            }
            try (PreparedStatement ps = tx.connection().prepareStatement(
                    "INSERT INTO apple_pass_tokens (serial, token_hash, created_at) VALUES (?, ?, ?)")) {
                ps.setString(1, serial);
                ps.setString(2, hash(token));
                ps.setObject(3, now.atOffset(ZoneOffset.UTC));
                ps.executeUpdate();
            }
            List<String> old = new ArrayList<>();
            try (PreparedStatement ps = tx.connection().prepareStatement(
                    "SELECT token_hash FROM apple_pass_tokens WHERE serial = ? ORDER BY created_at DESC, token_hash")) {
                ps.setString(1, serial);
                try (ResultSet rs = ps.executeQuery()) {
                    for (int i = 0; rs.next(); i++) {
                        if (i >= TOKENS_PER_PASS) {
                            old.add(rs.getString(1));
                        }
                    }
                }
            }
            for (String h : old) {
                try (PreparedStatement ps = tx.connection().prepareStatement(
                        "DELETE FROM apple_pass_tokens WHERE serial = ? AND token_hash = ?")) {
                    ps.setString(1, serial);
                    ps.setString(2, h);
                    ps.executeUpdate();
                }
            }
            return null;
        });
    }

    /** Whether the token is one of the pass's; every stored hash is compared in constant time. */
    boolean authorized(String serial, String token) {
        byte[] given = hash(token).getBytes(StandardCharsets.US_ASCII);
        List<String> hashes = store.transaction(tx -> {
            List<String> out = new ArrayList<>();
            try (PreparedStatement ps = tx.connection().prepareStatement("SELECT token_hash FROM apple_pass_tokens WHERE serial = ?")) {
                ps.setString(1, serial);
                try (ResultSet rs = ps.executeQuery()) {
                    while (rs.next()) {
                        out.add(rs.getString(1));
                    }
                }
            }
            return out;
        });
        boolean ok = false;
        for (String h : hashes) {
            ok |= MessageDigest.isEqual(h.getBytes(StandardCharsets.US_ASCII), given);
        }
        return ok;
    }

    /** Registers (or refreshes the push token of) a device for a pass; true when the registration is new. */
    boolean register(String device, String serial, String pushToken, Instant now) {
        return store.transaction(tx -> {
            try (PreparedStatement ps = tx.connection().prepareStatement(
                    "UPDATE apple_registrations SET push_token = ? WHERE device_id = ? AND serial = ?")) {
                ps.setString(1, pushToken);
                ps.setString(2, device);
                ps.setString(3, serial);
                if (ps.executeUpdate() > 0) {
                    return false;
                }
            }
            try (PreparedStatement ps = tx.connection().prepareStatement(
                    "INSERT INTO apple_registrations (device_id, serial, push_token, registered_at) VALUES (?, ?, ?, ?)")) {
                ps.setString(1, device);
                ps.setString(2, serial);
                ps.setString(3, pushToken);
                ps.setObject(4, now.atOffset(ZoneOffset.UTC));
                ps.executeUpdate();
            }
            return true;
        });
    }

    boolean unregister(String device, String serial) {
        return update("DELETE FROM apple_registrations WHERE device_id = ? AND serial = ?", device, serial) > 0;
    }

    int registrations(String device) {
        return store.transaction(tx -> {
            try (PreparedStatement ps = tx.connection().prepareStatement(
                    "SELECT COUNT(*) FROM apple_registrations WHERE device_id = ?")) {
                ps.setString(1, device);
                try (ResultSet rs = ps.executeQuery()) {
                    rs.next();
                    return rs.getInt(1);
                }
            }
        });
    }

    /**
     * The device's passes changed after {@code since} (epoch seconds; null for all). The tag returned is at
     * most a second before now: a pass that changes later in the current second is still newer than it.
     */
    Changed changedSince(String device, Long since, Instant now) {
        return store.transaction(tx -> {
            List<String> serials = new ArrayList<>();
            long newest = 0;
            try (PreparedStatement ps = tx.connection().prepareStatement("SELECT p.serial, p.updated_at FROM apple_passes p "
                    + "JOIN apple_registrations r ON r.serial = p.serial WHERE r.device_id = ? AND p.updated_at > ? ORDER BY p.serial")) {
                ps.setString(1, device);
                ps.setObject(2, Instant.ofEpochSecond(since == null ? 0 : since).atOffset(ZoneOffset.UTC));
                try (ResultSet rs = ps.executeQuery()) {
                    while (rs.next()) {
                        serials.add(rs.getString(1));
                        newest = Math.max(newest, rs.getObject(2, OffsetDateTime.class).toEpochSecond());
                    }
                }
            }
            return new Changed(serials, Math.min(newest, now.getEpochSecond() - 1));
        });
    }

    List<String> pushTokens(String serial) {
        return store.transaction(tx -> {
            List<String> out = new ArrayList<>();
            try (PreparedStatement ps = tx.connection().prepareStatement(
                    "SELECT DISTINCT push_token FROM apple_registrations WHERE serial = ? ORDER BY push_token")) {
                ps.setString(1, serial);
                try (ResultSet rs = ps.executeQuery()) {
                    while (rs.next()) {
                        out.add(rs.getString(1));
                    }
                }
            }
            return out;
        });
    }

    /** APNs said the token is no longer valid (410): every registration with it goes. */
    int dropPushToken(String pushToken) {
        return update("DELETE FROM apple_registrations WHERE push_token = ?", pushToken);
    }

    /**
     * Marks the pass changed: its Last-Modified moves to now, and always at least one second past the
     * previous one (HTTP dates have seconds only; a phone that fetched it within the same second must
     * not be answered 304). Returns the new time, or null for a card without a pass.
     */
    Instant touch(String serial, Instant now) {
        return store.transaction(tx -> {
            Instant old;
            try (PreparedStatement ps = tx.connection().prepareStatement(
                    "SELECT updated_at FROM apple_passes WHERE serial = ? FOR UPDATE")) {
                ps.setString(1, serial);
                try (ResultSet rs = ps.executeQuery()) {
                    if (!rs.next()) {
                        return null;
                    }
                    old = rs.getObject(1, OffsetDateTime.class).toInstant();
                }
            }
            Instant next = now.truncatedTo(ChronoUnit.SECONDS);
            if (!next.isAfter(old)) {
                next = old.plusSeconds(1);
            }
            try (PreparedStatement ps = tx.connection().prepareStatement("UPDATE apple_passes SET updated_at = ? WHERE serial = ?")) {
                ps.setObject(1, next.atOffset(ZoneOffset.UTC));
                ps.setString(2, serial);
                ps.executeUpdate();
            }
            return next;
        });
    }

    private int update(String sql, String... args) {
        return store.transaction(tx -> {
            try (PreparedStatement ps = tx.connection().prepareStatement(sql)) {
                for (int i = 0; i < args.length; i++) {
                    ps.setString(i + 1, args[i]);
                }
                return ps.executeUpdate();
            }
        });
    }

    static String hash(String token) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(token.getBytes(StandardCharsets.UTF_8)));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is part of every JDK", e);
        }
    }
}
