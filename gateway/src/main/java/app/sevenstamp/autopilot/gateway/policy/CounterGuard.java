package app.sevenstamp.autopilot.gateway.policy;

import app.sevenstamp.autopilot.protocol.CounterRules;
import app.sevenstamp.autopilot.protocol.RejectReason;
import app.sevenstamp.autopilot.protocol.card.CardCode;
import java.time.DateTimeException;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.util.ArrayDeque;
import java.util.HashMap;
import java.util.Iterator;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;

/**
 * The sink's counter rules, applied offline at this counter: a card stamped here within its program's
 * cooldown, or already stamped here {@code dailyCap} times today (the day in the program's time zone), is
 * refused before anything is stored. Bounded risk, not the whole judgement: the box only knows its own
 * stamps, so a card may still collect one stamp per counter; the sink judges across counters.
 *
 * <p>Threading: {@link #rules} may be set from any thread (a volatile swap of an immutable set). The
 * history is confined to the stamp pipeline's thread: {@link #load} before that thread starts, then
 * {@link #check} and {@link #record} on it. The durable copy of the history is the outbox's
 * {@code counter_history} table, written in the stamp's own transaction; this class keeps the same rows in
 * memory so that a scan costs no extra database round trip.
 */
public final class CounterGuard {
    /** How far back a daily cap looks at most: a day is 25 h when the clocks go back, plus margin. */
    public static final Duration DAY_HORIZON = Duration.ofHours(26);
    /** The longest cooldown a box accepts: it bounds the history it keeps. */
    public static final Duration MAX_COOLDOWN = Duration.ofDays(7);
    /** Sweep the whole history after this many records, so cards never seen again do not pile up. */
    private static final int SWEEP_EVERY = 1000;

    /** The rules and their parsed zones, swapped as one. */
    private record Active(CounterRules rules, Map<String, ZoneId> zones) {
    }

    private volatile Active active = new Active(new CounterRules(1, 0, Map.of()), Map.of());
    // pipeline thread only
    private final Map<String, ArrayDeque<Instant>> history = new HashMap<>();
    private int sinceSweep;

    /**
     * Checks what the box can enforce: time zones it knows, program ids of the card format, cooldowns up to
     * {@link #MAX_COOLDOWN}. Throws {@link IllegalArgumentException} naming the program and the field.
     */
    public static void validate(CounterRules r) {
        Objects.requireNonNull(r, "rules");
        if (r.version() < 1) {
            throw new IllegalArgumentException("version " + r.version() + " must be >= 1");
        }
        r.programs().forEach((program, limits) -> {
            if (program == null || !CardCode.PROGRAM_ID.matcher(program).matches()) {
                throw new IllegalArgumentException("program id '" + program + "' must match " + CardCode.PROGRAM_ID.pattern());
            }
            if (limits == null) {
                throw new IllegalArgumentException("program " + program + ": no limits");
            }
            if (limits.cooldownSeconds() > MAX_COOLDOWN.toSeconds()) {
                throw new IllegalArgumentException("program " + program + ": cooldownSeconds " + limits.cooldownSeconds()
                        + " is above the " + MAX_COOLDOWN.toSeconds() + " a box keeps history for");
            }
            try {
                ZoneId.of(limits.timeZone());
            } catch (DateTimeException e) {
                throw new IllegalArgumentException("program " + program + ": timeZone '" + limits.timeZone()
                        + "' is not a zone id like Europe/Berlin or UTC");
            }
        });
    }

    /** Swaps in a validated rule set; the next scan uses it. */
    public void rules(CounterRules r) {
        validate(r);
        Map<String, ZoneId> z = new HashMap<>();
        r.programs().forEach((program, limits) -> z.put(program, ZoneId.of(limits.timeZone())));
        active = new Active(r, Map.copyOf(z));
    }

    /** The rules in force; version 0 and no programs until the first set arrives. */
    public CounterRules rules() {
        return active.rules();
    }

    /** How far back the history must reach for the current rules. */
    public Duration horizon() {
        long cooldown = active.rules().programs().values().stream().mapToLong(CounterRules.Limits::cooldownSeconds).max().orElse(0);
        Duration c = Duration.ofSeconds(cooldown);
        return c.compareTo(DAY_HORIZON) > 0 ? c : DAY_HORIZON;
    }

    /** Before the pipeline starts: one stamp the outbox remembers, oldest first. */
    public void load(String programId, String cardId, Instant at) {
        history.computeIfAbsent(key(programId, cardId), k -> new ArrayDeque<>()).addLast(at);
    }

    /**
     * Whether the counter rules refuse a stamp of this card at {@code now}; empty when they allow it.
     *
     * <p>Stamps the history places after {@code now} (the wall clock went back, or jumped before NTP) are
     * not counted: a clock glitch must not lock a customer out, and the sink still judges.
     */
    public Optional<Decision.Reject> check(String programId, String cardId, Instant now, String excerpt) {
        Active a = active;
        CounterRules r = a.rules();
        CounterRules.Limits limits = r.programs().get(programId);
        if (limits == null || (limits.cooldownSeconds() == 0 && limits.dailyCap() == 0)) {
            return Optional.empty();
        }
        ArrayDeque<Instant> seen = history.get(key(programId, cardId));
        if (seen == null || seen.isEmpty()) {
            return Optional.empty();
        }
        Instant last = null;
        int today = 0;
        ZoneId zone = a.zones().getOrDefault(programId, ZoneOffset.UTC);
        Instant dayStart = now.atZone(zone).toLocalDate().atStartOfDay(zone).toInstant();
        for (Instant at : seen) {
            if (at.isAfter(now)) {
                continue;
            }
            if (last == null || at.isAfter(last)) {
                last = at;
            }
            if (!at.isBefore(dayStart)) {
                today++;
            }
        }
        if (last != null && limits.cooldownSeconds() > 0) {
            Duration since = Duration.between(last, now);
            if (since.compareTo(Duration.ofSeconds(limits.cooldownSeconds())) < 0) {
                return Optional.of(new Decision.Reject(RejectReason.TOO_SOON, "card " + cardId + " of program " + programId
                        + " was stamped at this counter " + since.toSeconds() + " s ago; cooldown " + limits.cooldownSeconds()
                        + " s (counter rules version " + r.version() + ")", excerpt));
            }
        }
        if (limits.dailyCap() > 0 && today >= limits.dailyCap()) {
            return Optional.of(new Decision.Reject(RejectReason.DAILY_CAP, "card " + cardId + " of program " + programId
                    + " has " + today + " stamp(s) at this counter today (" + limits.timeZone() + "), the daily cap is "
                    + limits.dailyCap() + " (counter rules version " + r.version() + ")", excerpt));
        }
        return Optional.empty();
    }

    /** After the outbox stored a stamp. */
    public void record(String programId, String cardId, Instant at) {
        ArrayDeque<Instant> seen = history.computeIfAbsent(key(programId, cardId), k -> new ArrayDeque<>());
        seen.addLast(at);
        Instant cutoff = at.minus(horizon());
        while (!seen.isEmpty() && seen.peekFirst().isBefore(cutoff)) {
            seen.removeFirst();
        }
        if (++sinceSweep >= SWEEP_EVERY) {
            sinceSweep = 0;
            for (Iterator<ArrayDeque<Instant>> it = history.values().iterator(); it.hasNext(); ) {
                ArrayDeque<Instant> d = it.next();
                d.removeIf(t -> t.isBefore(cutoff));
                if (d.isEmpty()) {
                    it.remove();
                }
            }
        }
    }

    /** Cards with a remembered stamp; for tests and the log. */
    public int cardsRemembered() {
        return history.size();
    }

    private static String key(String programId, String cardId) {
        return programId + '/' + cardId;
    }
}
