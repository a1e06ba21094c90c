package app.sevenstamp.autopilot.gateway.outbox;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import app.sevenstamp.autopilot.gateway.support.Ticker;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.TimeUnit;

/**
 * The counter rules' memory in H2 ({@code counter_history}): a line per stamp, written in the append's
 * transaction and kept after the sink's ack for {@link #retention} (the rules' horizon), pruned once a
 * minute by the same transaction. Outbox thread only, except {@link #retention(Duration)}.
 */
final class CounterHistory {
    private static final long PRUNE_INTERVAL_NANOS = TimeUnit.MINUTES.toNanos(1);
    /** The type of a line's time: milliseconds, to which H2 rounds a finer time half up when it stores it. */
    static final String STAMPED_AT_TYPE = "TIMESTAMP(3) WITH TIME ZONE";
    /** A stamp's line: the append's, and the redo log's replay of a line H2 lost. */
    static final String INSERT_LINE = "INSERT INTO counter_history (program_id, card_id, stamped_at) VALUES (?, ?, ?)";
    /**
     * Lines one append prunes at most: a box off for longer than the horizon finds all of its lines aged at its first
     * scan, and the scan pays for the prune (the unit's flags: 1,200 lines 31-37 ms, 99,000 lines 2.9-3.9 s; 500 at
     * most, 8-15 ms). The next appends go on until they are gone.
     */
    static final int PRUNE_BATCH = 500;

    private final Clock clock;
    /** How long counter_history keeps a stamp: set from the counter rules (their cooldown, at least a day). */
    private volatile Duration retention = Duration.ofHours(26);
    private PreparedStatement insert;
    private PreparedStatement prune;
    private final Ticker ticker;
    /** {@link Ticker#nanoTime()} of the last prune. */
    private long lastPrune;
    /** The last prune stopped at {@link #PRUNE_BATCH}: the next append prunes again. */
    private boolean agedLeft;

    CounterHistory(Clock clock, Ticker ticker) {
        this.clock = clock;
        this.ticker = ticker;
    }

    /** Prepares the statements on a freshly opened connection (after {@link OutboxSchema#connect}). */
    void attach(Connection connection) throws SQLException {
        insert = connection.prepareStatement(INSERT_LINE);
        prune = connection.prepareStatement("DELETE FROM counter_history WHERE stamped_at < ? FETCH FIRST " + PRUNE_BATCH
                + " ROWS ONLY");
    }

    /**
     * {@code at} as a line keeps it ({@link #STAMPED_AT_TYPE}): a stamp's device time has the clock's microseconds, and a
     * line read back from H2 has milliseconds.
     */
    static Instant asStored(Instant at) {
        return at.plusNanos(500_000).truncatedTo(ChronoUnit.MILLIS);
    }

    /** How long a stamp is kept; any thread. */
    void retention(Duration retention) {
        this.retention = Objects.requireNonNull(retention, "retention");
    }

    /**
     * The stamp's line, in the caller's transaction (no sync of its own); once a minute the same
     * transaction also drops the lines older than the retention, at most {@link #PRUNE_BATCH} an append.
     */
    void remember(StampDraft draft) throws SQLException {
        insert.setString(1, draft.programId());
        insert.setString(2, draft.cardId());
        insert.setObject(3, OffsetDateTime.ofInstant(draft.deviceTime(), ZoneOffset.UTC));
        insert.executeUpdate();
        long now = ticker.nanoTime();
        if (lastPrune == 0 || now - lastPrune > PRUNE_INTERVAL_NANOS || agedLeft) {
            lastPrune = now;
            prune.setObject(1, OffsetDateTime.ofInstant(clock.instant().minus(retention), ZoneOffset.UTC));
            agedLeft = prune.executeUpdate() == PRUNE_BATCH;
        }
    }

    /** The stamps stored at or after {@code since}, oldest first; commits the read. */
    static List<Outbox.CounterStamp> since(Connection connection, Instant since) throws SQLException {
        try (PreparedStatement st = connection.prepareStatement("SELECT program_id, card_id, stamped_at "
                + "FROM counter_history WHERE stamped_at >= ? ORDER BY stamped_at")) {
            st.setObject(1, OffsetDateTime.ofInstant(since, ZoneOffset.UTC));
            List<Outbox.CounterStamp> out = new ArrayList<>();
            try (ResultSet rs = st.executeQuery()) {
                while (rs.next()) {
                    out.add(new Outbox.CounterStamp(rs.getString(1), rs.getString(2),
                            rs.getObject(3, OffsetDateTime.class).toInstant()));
                }
            }
            connection.commit();
            return out;
        }
    }
}
