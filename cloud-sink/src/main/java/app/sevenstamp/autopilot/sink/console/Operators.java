package app.sevenstamp.autopilot.sink.console;

import app.sevenstamp.autopilot.sink.store.SinkStore;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Pattern;

/** The console's accounts ({@code console_operators}): name, role, locations (managers) and password hash. */
public final class Operators {
    /** Names as they appear in the ledger and the audit log. */
    public static final Pattern NAME = Pattern.compile("[a-z0-9][a-z0-9._-]{0,63}");
    static final Pattern LOCATION = Pattern.compile("[a-z0-9][a-z0-9-]{0,31}");

    /** One account. {@code locations}: where a manager or staff works; empty for owners (everywhere). */
    public record Account(String name, Role role, Set<String> locations, String passwordHash, Instant createdAt,
            Instant disabledAt) {
        public Account {
            locations = Set.copyOf(locations);
        }

        public boolean active() {
            return disabledAt == null;
        }
    }

    private final SinkStore store;

    public Operators(SinkStore store) {
        this.store = Objects.requireNonNull(store, "store");
    }

    /**
     * Adds an account.
     *
     * @throws IllegalArgumentException a bad name or location, or a name that exists
     */
    public Account add(String name, Role role, Set<String> locations, String passwordHash, Instant at) {
        if (!NAME.matcher(name).matches()) {
            throw new IllegalArgumentException("name: '" + name + "' is not allowed; allowed: 1 to 64 of a-z, 0-9, '.', '_', '-'");
        }
        Set<String> where = new TreeSet<>(locations);
        for (String l : where) {
            if (!LOCATION.matcher(l).matches()) {
                throw new IllegalArgumentException("locations: '" + l + "' is not a location id");
            }
        }
        if (role == Role.OWNER && !where.isEmpty()) {
            throw new IllegalArgumentException("locations: an owner has every location; leave them out");
        }
        if (role != Role.OWNER && where.isEmpty()) {
            throw new IllegalArgumentException("locations: a " + role.label() + " needs at least one location");
        }
        return store.transaction(tx -> {
            if (find(tx.connection(), name).isPresent()) {
                throw new IllegalArgumentException("an account named " + name + " exists already");
            }
            try (PreparedStatement ps = tx.connection().prepareStatement("INSERT INTO console_operators "
                    + "(name, role, locations, password_hash, created_at) VALUES (?, ?, ?, ?, ?)")) {
                ps.setString(1, name);
                ps.setString(2, role.label());
                ps.setString(3, String.join(",", where));
                ps.setString(4, passwordHash);
                ps.setObject(5, at.atOffset(ZoneOffset.UTC));
                ps.executeUpdate();
            }
            return new Account(name, role, where, passwordHash, at, null);
        });
    }

    public Optional<Account> find(String name) {
        return store.transaction(tx -> find(tx.connection(), name));
    }

    /** Whether any account exists: the console says how to create the first owner until one does. */
    public boolean any() {
        return !list().isEmpty();
    }

    public List<Account> list() {
        return store.transaction(tx -> {
            List<Account> out = new ArrayList<>();
            try (PreparedStatement ps = tx.connection().prepareStatement("SELECT name, role, locations, password_hash, "
                    + "created_at, disabled_at FROM console_operators ORDER BY name"); ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    out.add(account(rs));
                }
            }
            return out;
        });
    }

    private static Optional<Account> find(java.sql.Connection c, String name) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("SELECT name, role, locations, password_hash, created_at, disabled_at "
                + "FROM console_operators WHERE name = ?")) {
            ps.setString(1, name);
            try (ResultSet rs = ps.executeQuery()) {
                return rs.next() ? Optional.of(account(rs)) : Optional.empty();
            }
        }
    }

    private static Account account(ResultSet rs) throws SQLException {
        String where = rs.getString(3);
        OffsetDateTime disabled = rs.getObject(6, OffsetDateTime.class);
        return new Account(rs.getString(1), Role.parse(rs.getString(2)),
                where.isEmpty() ? Set.of() : new TreeSet<>(Arrays.asList(where.split(","))), rs.getString(4),
                rs.getObject(5, OffsetDateTime.class).toInstant(), disabled == null ? null : disabled.toInstant());
    }
}
