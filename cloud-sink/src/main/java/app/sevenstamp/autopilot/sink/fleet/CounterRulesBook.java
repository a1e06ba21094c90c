package app.sevenstamp.autopilot.sink.fleet;

import app.sevenstamp.autopilot.protocol.CounterRules;
import app.sevenstamp.autopilot.protocol.WireCodec;
import app.sevenstamp.autopilot.sink.loyalty.Program;
import app.sevenstamp.autopilot.sink.loyalty.StampRules;
import app.sevenstamp.autopilot.sink.store.SinkStore;
import app.sevenstamp.autopilot.sink.store.StoreException;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Clock;
import java.time.ZoneOffset;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import org.tinylog.Logger;

/**
 * The counter rules the sink pushes to every box (retained on {@code PREFIX/rules}): each configured
 * program's cooldown, daily cap and time zone (minTravel only flags, so it stays at the sink).
 *
 * <p>The version must grow whenever the rules change, and only then, across restarts: a box keeps the
 * newest version it has seen and ignores the rest. A hash of the content is not ordered; so the sink keeps
 * one row in its database ({@code counter_rules}: version and a canonical text of the content) and, in one
 * transaction, gives changed rules a new version: the wall-clock second of the change, or the old version
 * + 1 if the clock went back. The same rules after a restart keep their version (the boxes see nothing
 * new). Numbering by the clock keeps a fresh or restored database ahead of what the boxes stored from the
 * old one (counting from 1 again, the boxes ignored every new rule until the count caught up); for the
 * rare case it does not (restored database, same content, boxes holding a later version) a box's status
 * reports its version, and {@link #numberedPast} numbers past it. The database
 * is shared by every sink instance, so two sinks on one database agree on the numbering.
 */
public final class CounterRulesBook {
    private CounterRulesBook() {
    }

    /** The configured limits, version not yet assigned (0). */
    static Map<String, CounterRules.Limits> limits(Map<String, Program> programs) {
        Map<String, CounterRules.Limits> out = new TreeMap<>();
        programs.forEach((id, p) -> {
            StampRules r = p.rules();
            out.put(id, new CounterRules.Limits(r.cooldown().toSeconds(), r.dailyCap(), r.zone().getId()));
        });
        return out;
    }

    /** One line per program, sorted: equal rules give equal text whatever the map's order. */
    static String canonical(Map<String, CounterRules.Limits> limits) {
        StringBuilder b = new StringBuilder();
        new TreeMap<>(limits).forEach((id, l) -> b.append(id).append(" cooldown=").append(l.cooldownSeconds())
                .append(" dailyCap=").append(l.dailyCap()).append(" zone=").append(l.timeZone()).append('\n'));
        return b.toString();
    }

    /** The rules to publish now, with a new version in the database if they changed since the last start. */
    public static CounterRules versioned(SinkStore store, Map<String, Program> programs, Clock clock) {
        Map<String, CounterRules.Limits> limits = limits(programs);
        String content = canonical(limits);
        return inTransaction(store, c -> {
            Stored row = stored(c);
            long version;
            if (row == null) {
                version = Math.max(1, clock.instant().getEpochSecond());
                write(c, "INSERT INTO counter_rules (version, content, changed_at, id) VALUES (?, ?, ?, 1)", version,
                        content, clock);
                Logger.info("counter rules: first version {}", version);
            } else if (row.content().equals(content)) {
                version = row.version();
            } else {
                version = Math.max(row.version() + 1, clock.instant().getEpochSecond());
                write(c, "UPDATE counter_rules SET version = ?, content = ?, changed_at = ? WHERE id = 1", version,
                        content, clock);
                Logger.info("counter rules changed since the last start: version {}", version);
            }
            return Optional.of(new CounterRules(WireCodec.SCHEMA, version, limits));
        }).orElseThrow();
    }

    /**
     * The rules to publish when a box holds version {@code held}, above this sink's (the database was restored
     * from before a change, or another sink on the database changed the rules): numbered past {@code held} if
     * the database is below it; as stored if the database holds {@code held} or more with this sink's rules
     * (nothing written); empty when the database holds other rules than {@code programs} (sinks with different
     * programs on one database: numbering past the box would put this sink's rules over the other's, and the
     * other's back, without end).
     */
    public static Optional<CounterRules> numberedPast(SinkStore store, Map<String, Program> programs, Clock clock,
            long held) {
        Map<String, CounterRules.Limits> limits = limits(programs);
        String content = canonical(limits);
        return inTransaction(store, c -> {
            Stored row = stored(c);
            if (row != null && !row.content().equals(content)) {
                Logger.warn("counter rules: the database holds version {} with other rules than this sink's programs; "
                        + "run every sink on one database with the same programs", row.version());
                return Optional.empty();
            }
            if (row != null && row.version() >= held) {
                return Optional.of(new CounterRules(WireCodec.SCHEMA, row.version(), limits));
            }
            long version = Math.max(held + 1, clock.instant().getEpochSecond());
            write(c, row == null ? "INSERT INTO counter_rules (version, content, changed_at, id) VALUES (?, ?, ?, 1)"
                    : "UPDATE counter_rules SET version = ?, content = ?, changed_at = ? WHERE id = 1", version, content, clock);
            Logger.info("counter rules numbered past version {} that a box holds: version {}", held, version);
            return Optional.of(new CounterRules(WireCodec.SCHEMA, version, limits));
        });
    }

    private record Stored(long version, String content) {
    }

    private interface Work {
        Optional<CounterRules> run(Connection c) throws SQLException;
    }

    private static Stored stored(Connection c) throws SQLException {
        try (PreparedStatement st = c.prepareStatement("SELECT version, content FROM counter_rules WHERE id = 1 FOR UPDATE");
             ResultSet rs = st.executeQuery()) {
            return rs.next() ? new Stored(rs.getLong(1), rs.getString(2)) : null;
        }
    }

    private static void write(Connection c, String sql, long version, String content, Clock clock) throws SQLException {
        try (PreparedStatement st = c.prepareStatement(sql)) {
            st.setLong(1, version);
            st.setString(2, content);
            st.setObject(3, clock.instant().atOffset(ZoneOffset.UTC));
            st.executeUpdate();
        }
    }

    /** Runs {@code work} in one transaction, once more if two sinks inserted the first row at the same moment. */
    private static Optional<CounterRules> inTransaction(SinkStore store, Work work) {
        try {
            return once(store, work);
        } catch (StoreException e) {
            if (e.getCause() instanceof SQLException q && q.getSQLState() != null && q.getSQLState().startsWith("23")) {
                return once(store, work); // the other insert committed: this time the row is there to read
            }
            throw e;
        }
    }

    private static Optional<CounterRules> once(SinkStore store, Work work) {
        try (Connection c = store.connection()) {
            c.setAutoCommit(false);
            try {
                Optional<CounterRules> r = work.run(c);
                c.commit();
                return r;
            } catch (SQLException | RuntimeException e) {
                c.rollback();
                throw e;
            } finally {
                c.setAutoCommit(true);
            }
        } catch (SQLException e) {
            throw new StoreException("counter rules: " + e.getMessage(), e);
        }
    }
}
