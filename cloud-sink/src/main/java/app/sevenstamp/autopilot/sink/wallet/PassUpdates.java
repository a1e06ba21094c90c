package app.sevenstamp.autopilot.sink.wallet;

import app.sevenstamp.autopilot.sink.loyalty.LedgerType;
import app.sevenstamp.autopilot.sink.store.LedgerEntry;
import app.sevenstamp.autopilot.sink.store.LedgerHook;
import app.sevenstamp.autopilot.sink.store.SinkStore;
import app.sevenstamp.autopilot.sink.store.StoreException;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Random;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;
import org.tinylog.Logger;

/**
 * Wallet passes follow their cards, driven by the ledger like the webhooks. As a {@link LedgerHook}, every
 * line that changes a card writes (or bumps) one row per channel and card in {@code pass_updates}, inside
 * the transaction of the change: committed with it, gone with a rolled-back stamp, never lost across a
 * crash. The dispatcher thread ("pass-updates") takes rows that are due and hands the card's state, read
 * then, to the channel ({@link PassChannel#cardChanged}).
 *
 * <p>Coalescing: a card's row is due {@link #COALESCE} after its first pending change; later changes only
 * bump its version. Ten stamps in a burst are one update (or two, if the burst straddles a send). A row
 * whose version moved during a send stays, due again after {@link #COALESCE}.
 *
 * <p>Claims: a row is claimed by moving its due time {@link #LEASE} ahead with a conditional update, so one
 * sink instance of several sends it, and a sink killed during a send sends it again after the lease. No
 * database lock is held during a send. A failed send is retried with jittered exponential backoff, 2 s to
 * 5 min.
 *
 * <p>Threads: the hook runs on whatever thread commits the change; the dispatcher's fields are its own
 * ({@link #runOnce} is called by it, or by tests instead of {@link #start}); the counters are atomic.
 */
public final class PassUpdates implements LedgerHook, AutoCloseable {
    static final Duration COALESCE = Duration.ofSeconds(1);
    static final Duration LEASE = Duration.ofSeconds(60);
    static final Duration MAX_BACKOFF = Duration.ofMinutes(5);
    private static final int BATCH = 50;

    private final SinkStore store;
    private final Map<String, PassChannel> channels = new LinkedHashMap<>();
    private final CardStates cards;
    private final Clock clock;
    private final Random jitter;
    private final Object wake = new Object();
    private final LongAdder sent = new LongAdder();
    private final LongAdder failed = new LongAdder();
    private final AtomicLong pending = new AtomicLong();
    private final AtomicLong latencyLastMs = new AtomicLong();
    private final AtomicLong latencyMaxMs = new AtomicLong();
    private volatile boolean woken;
    private volatile boolean running;
    private Thread thread;

    public PassUpdates(SinkStore store, List<PassChannel> channels, CardStates cards, Clock clock, Random jitter) {
        this.store = Objects.requireNonNull(store, "store");
        for (PassChannel c : channels) {
            if (c.name().length() > 16 || this.channels.put(c.name(), c) != null) {
                throw new IllegalArgumentException("channel names must be unique and at most 16 characters: " + c.name());
            }
        }
        this.cards = Objects.requireNonNull(cards, "cards");
        this.clock = Objects.requireNonNull(clock, "clock");
        this.jitter = Objects.requireNonNull(jitter, "jitter");
    }

    /** Every line that changes what a pass shows; not REJECTED (nothing changed) nor OPENING. */
    @Override
    public boolean wants(LedgerEntry line) {
        return line.type() != LedgerType.REJECTED && line.type() != LedgerType.OPENING && !channels.isEmpty();
    }

    @Override
    public boolean readsStore(LedgerEntry line) {
        return false;
    }

    @Override
    public void appended(SinkStore.Tx tx, LedgerEntry line) throws SQLException {
        Instant now = clock.instant();
        for (String channel : channels.keySet()) {
            try (PreparedStatement up = tx.connection().prepareStatement(
                    "UPDATE pass_updates SET version = version + 1 WHERE channel = ? AND card_id = ?")) {
                up.setString(1, channel);
                up.setString(2, line.cardId());
                if (up.executeUpdate() > 0) {
                    continue;
                }
            }
            try (PreparedStatement in = tx.connection().prepareStatement("INSERT INTO pass_updates (channel, card_id, program_id, "
                    + "version, first_change_at, due_at, attempts) VALUES (?, ?, ?, 1, ?, ?, 0)")) {
                in.setString(1, channel);
                in.setString(2, line.cardId());
                in.setString(3, line.programId());
                in.setObject(4, now.atOffset(ZoneOffset.UTC));
                in.setObject(5, now.plus(COALESCE).atOffset(ZoneOffset.UTC));
                in.executeUpdate();
            }
        }
        tx.afterCommit(this::wake);
    }

    /** Starts the "pass-updates" thread: a round every second, and soon after a change committed. */
    public PassUpdates start() {
        running = true;
        thread = new Thread(this::loop, "pass-updates");
        thread.setDaemon(true);
        thread.start();
        Logger.info("wallet pass updates on for {}", channels.keySet());
        return this;
    }

    private void loop() {
        while (running) {
            try {
                runOnce();
            } catch (RuntimeException e) {
                Logger.error(e, "wallet pass updates: a round failed; retrying");
            }
            synchronized (wake) {
                if (!woken && running) {
                    try {
                        wake.wait(COALESCE.toMillis());
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                        return;
                    }
                }
                woken = false;
            }
        }
    }

    private void wake() {
        synchronized (wake) {
            woken = true;
            wake.notifyAll();
        }
    }

    private record Row(String channel, String cardId, String programId, long version, Instant firstChange, int attempts) {
    }

    /** Sends what is due; returns how many updates were done. */
    public int runOnce() {
        Instant now = clock.instant();
        List<Row> due;
        try {
            due = due(now);
        } catch (StoreException e) {
            Logger.warn("wallet pass updates: {}", e.getMessage());
            return 0;
        }
        int done = 0;
        for (Row r : due) {
            PassChannel channel = channels.get(r.channel());
            if (channel == null || !claim(r, now)) {
                continue; // a channel switched off since, or another instance took it
            }
            try {
                channel.cardChanged(cards.load(r.cardId(), r.programId()));
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                retry(r, "interrupted", clock.instant());
                return done;
            } catch (Exception e) {
                failed.increment();
                retry(r, e.getClass().getSimpleName() + ": " + e.getMessage(), clock.instant());
                continue;
            }
            Instant at = clock.instant();
            long ms = Math.max(0, Duration.between(r.firstChange(), at).toMillis());
            latencyLastMs.set(ms);
            latencyMaxMs.accumulateAndGet(ms, Math::max);
            sent.increment();
            done++;
            finish(r, at);
        }
        pending.set(count());
        return done;
    }

    private List<Row> due(Instant now) {
        return store.transaction(tx -> {
            List<Row> out = new ArrayList<>();
            try (PreparedStatement ps = tx.connection().prepareStatement("SELECT channel, card_id, program_id, version, "
                    + "first_change_at, attempts FROM pass_updates WHERE due_at <= ? OR due_at > ? ORDER BY due_at FETCH FIRST "
                    + BATCH + " ROWS ONLY")) {
                ps.setObject(1, now.atOffset(ZoneOffset.UTC));
                ps.setObject(2, farFuture(now).atOffset(ZoneOffset.UTC));
                try (ResultSet rs = ps.executeQuery()) {
                    while (rs.next()) {
                        out.add(new Row(rs.getString(1), rs.getString(2), rs.getString(3), rs.getLong(4),
                                rs.getObject(5, OffsetDateTime.class).toInstant(), rs.getInt(6)));
                    }
                }
            }
            return out;
        });
    }

    private boolean claim(Row r, Instant now) {
        return store.transaction(tx -> {
            try (PreparedStatement ps = tx.connection().prepareStatement("UPDATE pass_updates SET due_at = ? WHERE channel = ? "
                    + "AND card_id = ? AND (due_at <= ? OR due_at > ?)")) {
                ps.setObject(1, now.plus(LEASE).atOffset(ZoneOffset.UTC));
                ps.setString(2, r.channel());
                ps.setString(3, r.cardId());
                ps.setObject(4, now.atOffset(ZoneOffset.UTC));
                ps.setObject(5, farFuture(now).atOffset(ZoneOffset.UTC));
                return ps.executeUpdate();
            }
        }) > 0;
    }

    /**
     * Later than any due time this code sets from now: a row due after it was scheduled by a clock that has
     * since been set back (NTP on a machine that booted with a wrong time), and is due now rather than hours
     * or days from now.
     */
    private static Instant farFuture(Instant now) {
        return now.plus(LEASE).plus(MAX_BACKOFF).plus(COALESCE);
    }

    /** Done: the row goes, unless the card changed again during the send; then it is due again soon. */
    private void finish(Row r, Instant at) {
        store.transaction(tx -> {
            try (PreparedStatement ps = tx.connection().prepareStatement(
                    "DELETE FROM pass_updates WHERE channel = ? AND card_id = ? AND version = ?")) {
                ps.setString(1, r.channel());
                ps.setString(2, r.cardId());
                ps.setLong(3, r.version());
                if (ps.executeUpdate() > 0) {
                    return null;
                }
            }
            try (PreparedStatement ps = tx.connection().prepareStatement("UPDATE pass_updates SET due_at = ?, attempts = 0, "
                    + "first_change_at = ?, last_error = NULL WHERE channel = ? AND card_id = ?")) {
                ps.setObject(1, at.plus(COALESCE).atOffset(ZoneOffset.UTC));
                ps.setObject(2, at.atOffset(ZoneOffset.UTC));
                ps.setString(3, r.channel());
                ps.setString(4, r.cardId());
                ps.executeUpdate();
            }
            return null;
        });
    }

    private void retry(Row r, String error, Instant at) {
        int attempts = r.attempts() + 1;
        long base = Math.min(MAX_BACKOFF.toMillis(), 2_000L << Math.min(attempts - 1, 16));
        long delay = base / 2 + (long) (jitter.nextDouble() * (base / 2)); // half to all of it: instances spread out
        if (Long.bitCount(attempts) == 1) { // 1, 2, 4, 8...: a long outage does not flood the log
            Logger.warn("wallet pass update ({}) for card {} failed ({}), attempt {}; next try in {} s", r.channel(), r.cardId(),
                    error, attempts, delay / 1000);
        }
        store.transaction(tx -> {
            try (PreparedStatement ps = tx.connection().prepareStatement("UPDATE pass_updates SET due_at = ?, attempts = ?, "
                    + "last_error = ? WHERE channel = ? AND card_id = ?")) {
                ps.setObject(1, at.plusMillis(delay).atOffset(ZoneOffset.UTC));
                ps.setInt(2, attempts);
                ps.setString(3, error.length() > 500 ? error.substring(0, 500) : error);
                ps.setString(4, r.channel());
                ps.setString(5, r.cardId());
                ps.executeUpdate();
            }
            return null;
        });
    }

    private long count() {
        try {
            return store.transaction(tx -> {
                try (PreparedStatement ps = tx.connection().prepareStatement("SELECT COUNT(*) FROM pass_updates");
                        ResultSet rs = ps.executeQuery()) {
                    rs.next();
                    return rs.getLong(1);
                }
            });
        } catch (StoreException e) {
            return pending.get();
        }
    }

    /**
     * For {@code SinkMetrics.include}: {@code wallet.pending} (rows waiting, as of the last round),
     * {@code wallet.sent}, {@code wallet.failed} (attempts), {@code wallet.latencyMsLast} and
     * {@code wallet.latencyMsMax} (first change of a card to its update done).
     */
    public Map<String, Long> counters() {
        return Map.of("wallet.pending", pending.get(), "wallet.sent", sent.sum(), "wallet.failed", failed.sum(),
                "wallet.latencyMsLast", latencyLastMs.get(), "wallet.latencyMsMax", latencyMaxMs.get());
    }

    /** Stops the thread; a send in progress finishes (bounded by the channel's own timeouts). */
    @Override
    public void close() {
        running = false;
        wake();
        if (thread != null) {
            try {
                thread.join(3_000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            if (thread.isAlive()) {
                Logger.warn("wallet pass updates did not stop within 3 s; it ends with its send");
            }
        }
    }
}
