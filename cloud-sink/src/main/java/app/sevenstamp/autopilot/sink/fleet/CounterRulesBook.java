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
 * reports its version, and {@link #versioned(SinkStore, Map, Clock, long)} numbers past it. The database
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
        return versioned(store, programs, clock, 0);
    }

    /**
     * As {@link #versioned(SinkStore, Map, Clock)}, and also a new version when the stored one is not above
     * {@code above}: a version some box holds (the caller checks it is not in the future).
     */
    public static CounterRules versioned(SinkStore store, Map<String, Program> programs, Clock clock, long above) {
        Map<String, CounterRules.Limits> limits = limits(programs);
        String content = canonical(limits);
        try (Connection c = store.connection()) {
            c.setAutoCommit(false);
            try {
                long version;
                try (PreparedStatement st = c.prepareStatement(
                        "SELECT version, content FROM counter_rules WHERE id = 1 FOR UPDATE");
                     ResultSet rs = st.executeQuery()) {
                    long next = Math.max(clock.instant().getEpochSecond(), above + 1);
                    if (!rs.next()) {
                        version = Math.max(1, next);
                        try (PreparedStatement ins = c.prepareStatement(
                                "INSERT INTO counter_rules (id, version, content, changed_at) VALUES (1, ?, ?, ?)")) {
                            ins.setLong(1, version);
                            ins.setString(2, content);
                            ins.setObject(3, clock.instant().atOffset(ZoneOffset.UTC));
                            ins.executeUpdate();
                        }
                        Logger.info("counter rules: first version {}", version);
                    } else if (rs.getString(2).equals(content) && rs.getLong(1) > above) {
                        version = rs.getLong(1);
                    } else {
                        boolean sameContent = rs.getString(2).equals(content);
                        version = Math.max(rs.getLong(1) + 1, next);
                        try (PreparedStatement up = c.prepareStatement(
                                "UPDATE counter_rules SET version = ?, content = ?, changed_at = ? WHERE id = 1")) {
                            up.setLong(1, version);
                            up.setString(2, content);
                            up.setObject(3, clock.instant().atOffset(ZoneOffset.UTC));
                            up.executeUpdate();
                        }
                        if (sameContent) {
                            Logger.info("counter rules numbered past version {} that a box holds: version {}", above, version);
                        } else {
                            Logger.info("counter rules changed since the last start: version {}", version);
                        }
                    }
                }
                c.commit();
                return new CounterRules(WireCodec.SCHEMA, version, limits);
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
