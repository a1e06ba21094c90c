package app.sevenstamp.autopilot.sink.console;

import app.sevenstamp.autopilot.sink.loyalty.Program;
import app.sevenstamp.autopilot.sink.loyalty.RewardPlan;
import app.sevenstamp.autopilot.sink.loyalty.StampRules;
import app.sevenstamp.autopilot.sink.store.SinkStore;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.util.AbstractMap;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.function.Consumer;
import org.tinylog.Logger;

/**
 * The programs the sink runs: those of the configuration file, with the rules an owner changed on the
 * programs page ({@code program_overrides}, one row per changed program) over them. The console's row wins
 * over the file for the five values it holds (stamps required, milestones, cooldown, daily cap, stamp
 * expiry); everything else (name, minTravel, time zone, full-card behaviour, which programs exist) stays
 * the file's. "Use the file's values" deletes the row.
 *
 * <p>{@link #live()} is a read-only map that always shows the current programs: the ingest, the card pages
 * and the wallet passes hold it instead of a copy, so a change counts from the next stamp without a
 * restart. Threading: readers read one volatile map; {@link #change} and {@link #reset} run under this
 * object's lock, across their database write and the publication of the new counter rules, so that two
 * owners saving at once publish in the order they wrote. Only those rare, person-made changes wait on the
 * lock; no stamp does.
 */
public final class ProgramBook {
    public static final int MAX_COOLDOWN_SECONDS = 86_400;
    public static final int MAX_DAILY_CAP = 100;
    public static final int MAX_EXPIRY_DAYS = 3650;

    /** The five values the programs page sets. */
    public record Rules(int stampsRequired, List<Integer> milestones, long cooldownSeconds, int dailyCap, int expiryDays) {
        public Rules {
            milestones = List.copyOf(milestones);
        }

        static Rules of(Program p) {
            return new Rules(p.stampsRequired(), p.plan().milestones(), p.rules().cooldown().toSeconds(), p.rules().dailyCap(),
                    (int) p.plan().stampExpiry().toDays());
        }

        /**
         * Reads the page's form; an error names the field, the value and what is allowed, as the
         * configuration's errors do.
         */
        public static Rules parse(String stampsRequired, String milestones, String cooldownSeconds, String dailyCap,
                String expiryDays) {
            int required = (int) whole("stampsRequired", stampsRequired, 1, Program.MAX_STAMPS);
            long cooldown = whole("cooldown", cooldownSeconds, 0, MAX_COOLDOWN_SECONDS);
            int cap = (int) whole("dailyCap", dailyCap, 0, MAX_DAILY_CAP);
            int expiry = (int) whole("stampExpiry", expiryDays, 0, MAX_EXPIRY_DAYS);
            List<Integer> marks = new ArrayList<>();
            String text = milestones == null ? "" : milestones.trim();
            String allowed = required < 2 ? "none (a card of 1 stamp has no milestones)"
                    : "increasing whole numbers from 1 to " + (required - 1) + " (below stampsRequired), separated by commas";
            if (!text.isEmpty()) {
                for (String part : text.split(",")) {
                    int m;
                    try {
                        m = Integer.parseInt(part.trim());
                    } catch (NumberFormatException e) {
                        throw bad("milestones", text, allowed);
                    }
                    if (m < 1 || m >= required || (!marks.isEmpty() && m <= marks.get(marks.size() - 1))) {
                        throw bad("milestones", text, allowed);
                    }
                    marks.add(m);
                }
            }
            return new Rules(required, marks, cooldown, cap, expiry);
        }

        private static long whole(String field, String text, long min, long max) {
            String allowed = "a whole number from " + min + " to " + max;
            if (text == null || text.isBlank()) {
                throw bad(field, "", allowed);
            }
            try {
                long v = Long.parseLong(text.trim());
                if (v < min || v > max) {
                    throw bad(field, text.trim(), allowed);
                }
                return v;
            } catch (NumberFormatException e) {
                throw bad(field, text.trim(), allowed);
            }
        }

        private static IllegalArgumentException bad(String field, String value, String allowed) {
            String shown = value.length() > 40 ? value.substring(0, 40) + "..." : value;
            return new IllegalArgumentException(field + ": '" + shown + "' is not allowed; allowed: " + allowed);
        }

        String milestoneText() {
            StringBuilder b = new StringBuilder();
            for (int m : milestones) {
                b.append(b.length() == 0 ? "" : ",").append(m);
            }
            return b.toString();
        }
    }

    /** A console change in force: its rules, when and by whom. */
    public record Changed(Rules rules, Instant at, String by) {
    }

    private final SinkStore store;
    private final Clock clock;
    private final Map<String, Program> file;
    private final Map<String, Program> live = new LiveView();
    private volatile Map<String, Program> current;
    private volatile Map<String, Changed> changes;
    private Consumer<Map<String, Program>> onChange = p -> { };

    private ProgramBook(SinkStore store, Clock clock, Map<String, Program> file) {
        this.store = Objects.requireNonNull(store, "store");
        this.clock = Objects.requireNonNull(clock, "clock");
        this.file = Collections.unmodifiableMap(new LinkedHashMap<>(file));
    }

    /** The file's programs with the stored console changes over them. */
    public static ProgramBook load(SinkStore store, Map<String, Program> file, Clock clock) {
        ProgramBook book = new ProgramBook(store, clock, file);
        book.reload();
        book.changes.forEach((id, c) -> Logger.info("program {}: the console's rules of {} by {} are in force over the "
                + "configuration file's (the programs page shows both)", id, c.at(), c.by()));
        return book;
    }

    /** Called, under this object's lock, with the new programs after each change (publishes the counter rules). */
    public synchronized void onChange(Consumer<Map<String, Program>> then) {
        this.onChange = Objects.requireNonNull(then, "then");
    }

    /** The programs now (an unmodifiable snapshot). */
    public Map<String, Program> current() {
        return current;
    }

    /** A read-only view that always shows {@link #current()}. */
    public Map<String, Program> live() {
        return live;
    }

    /** The program as the configuration file defines it. */
    public Optional<Program> fromFile(String id) {
        return Optional.ofNullable(file.get(id));
    }

    /** The console change in force for {@code id}, if any. */
    public Optional<Changed> changed(String id) {
        return Optional.ofNullable(changes.get(id));
    }

    /** Puts {@code rules} over the file's for program {@code id}; returns the program now in force. */
    public synchronized Program change(String id, Rules rules, String by) {
        Program base = file.get(id);
        if (base == null) {
            throw new IllegalArgumentException("no program '" + id + "'; configured: " + String.join(", ", file.keySet()));
        }
        Program next = apply(base, rules); // validates before anything is written
        OffsetDateTime now = clock.instant().atOffset(ZoneOffset.UTC);
        store.transaction(tx -> {
            int updated;
            try (PreparedStatement ps = tx.connection().prepareStatement("UPDATE program_overrides SET stamps_required = ?, "
                    + "milestones = ?, cooldown_seconds = ?, daily_cap = ?, expiry_days = ?, changed_at = ?, changed_by = ? "
                    + "WHERE program_id = ?")) {
                bind(ps, rules, now, by);
                ps.setString(8, id);
                updated = ps.executeUpdate();
            }
            if (updated == 0) {
                try (PreparedStatement ps = tx.connection().prepareStatement("INSERT INTO program_overrides (stamps_required, "
                        + "milestones, cooldown_seconds, daily_cap, expiry_days, changed_at, changed_by, program_id) "
                        + "VALUES (?, ?, ?, ?, ?, ?, ?, ?)")) {
                    bind(ps, rules, now, by);
                    ps.setString(8, id);
                    ps.executeUpdate();
                }
            }
            return null;
        });
        reload();
        Logger.info("program {}: rules changed on the console by {}: {}", id, by, rules);
        onChange.accept(current);
        return next;
    }

    /** Deletes the console's change of {@code id}: the file's rules are in force again. False if there was none. */
    public synchronized boolean reset(String id) {
        int deleted = store.transaction(tx -> {
            try (PreparedStatement ps = tx.connection().prepareStatement("DELETE FROM program_overrides WHERE program_id = ?")) {
                ps.setString(1, id);
                return ps.executeUpdate();
            }
        });
        if (deleted == 0) {
            return false;
        }
        reload();
        Logger.info("program {}: the configuration file's rules are in force again", id);
        onChange.accept(current);
        return true;
    }

    private static void bind(PreparedStatement ps, Rules r, OffsetDateTime now, String by) throws java.sql.SQLException {
        ps.setInt(1, r.stampsRequired());
        ps.setString(2, r.milestoneText());
        ps.setLong(3, r.cooldownSeconds());
        ps.setInt(4, r.dailyCap());
        ps.setInt(5, r.expiryDays());
        ps.setObject(6, now);
        ps.setString(7, by.length() > 80 ? by.substring(0, 80) : by);
    }

    private static Program apply(Program base, Rules r) {
        StampRules rules = new StampRules(Duration.ofSeconds(r.cooldownSeconds()), r.dailyCap(), base.rules().minTravel(),
                base.rules().zone());
        RewardPlan plan = new RewardPlan(r.milestones(), base.plan().fullCard(), Duration.ofDays(r.expiryDays()));
        return new Program(base.id(), base.name(), r.stampsRequired(), rules, plan);
    }

    private void reload() {
        Map<String, Changed> rows = store.transaction(tx -> {
            Map<String, Changed> out = new LinkedHashMap<>();
            try (PreparedStatement ps = tx.connection().prepareStatement("SELECT program_id, stamps_required, milestones, "
                    + "cooldown_seconds, daily_cap, expiry_days, changed_at, changed_by FROM program_overrides ORDER BY program_id");
                 ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    String id = rs.getString(1);
                    try {
                        Rules r = Rules.parse(String.valueOf(rs.getInt(2)), rs.getString(3), String.valueOf(rs.getLong(4)),
                                String.valueOf(rs.getInt(5)), String.valueOf(rs.getInt(6)));
                        out.put(id, new Changed(r, rs.getObject(7, OffsetDateTime.class).toInstant(), rs.getString(8)));
                    } catch (IllegalArgumentException e) {
                        Logger.warn("program {}: the console's stored rules are unusable ({}); the file's are in force", id,
                                e.getMessage());
                    }
                }
            }
            return out;
        });
        Map<String, Program> next = new LinkedHashMap<>(file);
        Map<String, Changed> inForce = new LinkedHashMap<>();
        rows.forEach((id, c) -> {
            Program base = file.get(id);
            if (base == null) {
                Logger.warn("program {}: the console changed its rules, but the configuration file no longer has it; ignored", id);
                return;
            }
            next.put(id, apply(base, c.rules()));
            inForce.put(id, c);
        });
        changes = Collections.unmodifiableMap(inForce);
        current = Collections.unmodifiableMap(next);
    }

    /** Always the programs now; read-only. */
    private final class LiveView extends AbstractMap<String, Program> {
        @Override
        public Set<Entry<String, Program>> entrySet() {
            return current.entrySet();
        }

        @Override
        public Program get(Object key) {
            return current.get(key);
        }

        @Override
        public boolean containsKey(Object key) {
            return current.containsKey(key);
        }

        @Override
        public Set<String> keySet() {
            return current.keySet();
        }

        @Override
        public Collection<Program> values() {
            return current.values();
        }

        @Override
        public int size() {
            return current.size();
        }
    }
}
