package app.sevenstamp.autopilot.gateway.outbox;

import app.sevenstamp.autopilot.protocol.StampEvent;
import app.sevenstamp.autopilot.protocol.WireCodec;
import app.sevenstamp.autopilot.protocol.support.NamedThreads;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.tinylog.Logger;

/**
 * The durable outbox: every stamp the gateway confirmed, until the sink acknowledges it. The single
 * source of truth for what still has to be sent (Paho keeps nothing).
 *
 * <p>Threading: one thread ({@code outbox}) owns the H2 connection and runs every operation in
 * submission order; callers get {@link CompletableFuture}s and never touch JDBC. The task queue is
 * bounded: when it is full a call fails at once (counted) instead of piling up memory.
 *
 * <p>Durability: the database is opened with {@code WRITE_DELAY=0}, so H2 (MVStore) writes each
 * commit into the file as it happens instead of from a background thread up to a second later. That
 * write still sits in the kernel's page cache, where a power cut loses it. So {@link #append} runs
 * {@code CHECKPOINT SYNC} after the commit, which flushes any unsaved MVStore changes and then calls
 * {@code FileChannel.force(true)} (fsync). The future completes only after that returns: a completed
 * append is on the storage medium, as far as the medium honours a flush (industrial SD cards and
 * SSDs do; cheap SD cards may acknowledge early, which no software can fix). The cost is one fsync
 * per stamp; it is logged per append at debug level and measured by the benchmark.
 * Deletes are not synced: a delete lost in a power cut only resends an event, which the sink
 * deduplicates.
 */
public final class Outbox implements AutoCloseable {
    private static final int MAX_QUEUED_TASKS = 1024;

    private final Path file;
    private final Clock clock;
    private final WireCodec codec = new WireCodec();
    private final ThreadPoolExecutor owner;
    private final AtomicLong refused = new AtomicLong();
    private final AtomicLong appends = new AtomicLong();
    private final AtomicLong appendNanos = new AtomicLong();
    private final AtomicLong maxAppendNanos = new AtomicLong();
    // touched only on the owner thread
    private Connection connection;
    private PreparedStatement nextSeq;
    private PreparedStatement bumpSeq;
    private PreparedStatement insert;
    private PreparedStatement selectPending;
    private PreparedStatement deleteById;
    private Statement misc;

    private Outbox(Path dir, Clock clock) {
        this.file = dir.resolve("outbox");
        this.clock = clock;
        this.owner = new ThreadPoolExecutor(1, 1, 0, TimeUnit.MILLISECONDS,
                new LinkedBlockingQueue<>(MAX_QUEUED_TASKS), NamedThreads.of("outbox"));
    }

    /** Opens (or creates) the outbox in {@code dir}; waits for the schema to be ready. */
    public static Outbox open(Path dir, Clock clock) throws OutboxException {
        Objects.requireNonNull(dir, "dir");
        Objects.requireNonNull(clock, "clock");
        try {
            Files.createDirectories(dir);
        } catch (IOException e) {
            throw new OutboxException("outbox.dir " + dir + " cannot be created: " + e, e);
        }
        Outbox outbox = new Outbox(dir.toAbsolutePath(), clock);
        try {
            outbox.submit(() -> {
                outbox.connect();
                return null;
            }).get();
        } catch (ExecutionException e) {
            outbox.owner.shutdownNow();
            Throwable cause = e.getCause() instanceof CompletionException ? e.getCause().getCause() : e.getCause();
            throw new OutboxException(describeOpenFailure(outbox.file, cause), cause);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            outbox.owner.shutdownNow();
            throw new OutboxException("interrupted while opening the outbox " + outbox.file, e);
        }
        return outbox;
    }

    private static String describeOpenFailure(Path file, Throwable cause) {
        if (cause instanceof SQLException sql && sql.getErrorCode() == 90020) {
            return "outbox " + file + ".mv.db is in use by another process (is another gateway running with the same outbox.dir?)";
        }
        return "outbox " + file + ".mv.db cannot be opened: " + cause.getMessage();
    }

    private void connect() throws SQLException {
        // DB_CLOSE_ON_EXIT=FALSE: H2's own shutdown hook must not close the store before our ordered
        // shutdown has drained the pipeline; close() runs SHUTDOWN itself.
        String url = "jdbc:h2:file:" + file + ";WRITE_DELAY=0;DB_CLOSE_ON_EXIT=FALSE";
        connection = DriverManager.getConnection(url, "sa", "");
        connection.setAutoCommit(false);
        misc = connection.createStatement();
        misc.execute("CREATE TABLE IF NOT EXISTS outbox ("
                + "seq BIGINT PRIMARY KEY, "
                + "event_id VARCHAR(64) NOT NULL UNIQUE, "
                + "payload VARCHAR(" + WireCodec.MAX_PAYLOAD_BYTES + ") NOT NULL, "
                + "created_at TIMESTAMP(3) WITH TIME ZONE NOT NULL, "
                + "boot_id VARCHAR(64) NOT NULL, "
                + "mono_nanos BIGINT NOT NULL)");
        // one row: the next sequence number, kept apart from the rows so a purge never rewinds it
        misc.execute("CREATE TABLE IF NOT EXISTS outbox_seq (id INT PRIMARY KEY CHECK (id = 1), next_seq BIGINT NOT NULL)");
        misc.execute("INSERT INTO outbox_seq (id, next_seq) SELECT 1, 1 WHERE NOT EXISTS (SELECT 1 FROM outbox_seq)");
        connection.commit();
        misc.execute("CHECKPOINT SYNC");
        nextSeq = connection.prepareStatement("SELECT next_seq FROM outbox_seq WHERE id = 1");
        bumpSeq = connection.prepareStatement("UPDATE outbox_seq SET next_seq = ? WHERE id = 1");
        insert = connection.prepareStatement(
                "INSERT INTO outbox (seq, event_id, payload, created_at, boot_id, mono_nanos) VALUES (?, ?, ?, ?, ?, ?)");
        selectPending = connection.prepareStatement(
                "SELECT seq, event_id, payload, created_at, boot_id, mono_nanos FROM outbox WHERE seq > ? ORDER BY seq LIMIT ?");
        deleteById = connection.prepareStatement("DELETE FROM outbox WHERE event_id = ?");
    }

    /**
     * Gives the draft the next sequence number and stores it. Completes only when the row is committed
     * and synced to the storage medium.
     */
    public CompletableFuture<StoredEvent> append(StampDraft draft) {
        Objects.requireNonNull(draft, "draft");
        return submit(() -> {
            long start = System.nanoTime();
            try {
                long seq;
                try (ResultSet rs = nextSeq.executeQuery()) {
                    rs.next();
                    seq = rs.getLong(1);
                }
                bumpSeq.setLong(1, seq + 1);
                bumpSeq.executeUpdate();
                StampEvent event = draft.withSeq(seq);
                byte[] payload = codec.encode(event);
                Instant createdAt = clock.instant();
                insert.setLong(1, seq);
                insert.setString(2, event.eventId());
                insert.setString(3, new String(payload, StandardCharsets.UTF_8));
                insert.setObject(4, OffsetDateTime.ofInstant(createdAt, ZoneOffset.UTC));
                insert.setString(5, event.bootId());
                insert.setLong(6, event.monotonicNanos());
                insert.executeUpdate();
                connection.commit();
                misc.execute("CHECKPOINT SYNC");
                long took = System.nanoTime() - start;
                appends.incrementAndGet();
                appendNanos.addAndGet(took);
                maxAppendNanos.accumulateAndGet(took, Math::max);
                Logger.debug("outbox append seq={} durable in {} us", seq, took / 1000);
                return new StoredEvent(seq, event.eventId(), payload, createdAt, event.bootId(), event.monotonicNanos());
            } catch (SQLException | RuntimeException e) {
                rollbackQuietly();
                throw e;
            }
        });
    }

    /** Up to {@code limit} events with a sequence number above {@code afterSeq}, in order. */
    public CompletableFuture<List<StoredEvent>> pending(long afterSeq, int limit) {
        return submit(() -> {
            selectPending.setLong(1, afterSeq);
            selectPending.setInt(2, limit);
            List<StoredEvent> out = new ArrayList<>();
            try (ResultSet rs = selectPending.executeQuery()) {
                while (rs.next()) {
                    out.add(new StoredEvent(rs.getLong(1), rs.getString(2),
                            rs.getString(3).getBytes(StandardCharsets.UTF_8),
                            rs.getObject(4, OffsetDateTime.class).toInstant(), rs.getString(5), rs.getLong(6)));
                }
            }
            connection.commit();
            return out;
        });
    }

    /** Removes the event once the sink acknowledged it; true when there was such a row. */
    public CompletableFuture<Boolean> delete(String eventId) {
        Objects.requireNonNull(eventId, "eventId");
        return submit(() -> {
            try {
                deleteById.setString(1, eventId);
                int n = deleteById.executeUpdate();
                connection.commit();
                return n > 0;
            } catch (SQLException e) {
                rollbackQuietly();
                throw e;
            }
        });
    }

    /** Events stored and not yet acknowledged: the backlog. */
    public CompletableFuture<Long> count() {
        return submit(() -> {
            try (ResultSet rs = misc.executeQuery("SELECT COUNT(*) FROM outbox")) {
                rs.next();
                long n = rs.getLong(1);
                connection.commit();
                return n;
            }
        });
    }

    /** When the oldest unacknowledged event was stored, if any. */
    public CompletableFuture<Optional<Instant>> oldestCreatedAt() {
        return submit(() -> {
            try (ResultSet rs = misc.executeQuery("SELECT MIN(created_at) FROM outbox")) {
                rs.next();
                OffsetDateTime t = rs.getObject(1, OffsetDateTime.class);
                connection.commit();
                return Optional.ofNullable(t).map(OffsetDateTime::toInstant);
            }
        });
    }

    /** The file, for log lines. */
    public Path file() {
        return Path.of(file + ".mv.db");
    }

    /** Operations refused because the task queue was full. */
    public long refused() {
        return refused.get();
    }

    /** Runs what is queued, then {@code SHUTDOWN}, waiting at most {@code wait}. */
    public void close(Duration wait) {
        try {
            submit(() -> {
                if (connection != null) {
                    misc.execute("SHUTDOWN");
                    connection.close();
                }
                return null;
            });
        } catch (RuntimeException e) {
            Logger.warn("outbox shutdown could not be queued: {}", e.toString());
        }
        owner.shutdown();
        try {
            if (!owner.awaitTermination(wait.toMillis(), TimeUnit.MILLISECONDS)) {
                Logger.warn("outbox did not shut down within {} ms; H2 recovers the file at the next start", wait.toMillis());
                owner.shutdownNow();
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            owner.shutdownNow();
        }
        long n = appends.get();
        if (n > 0) {
            Logger.info("outbox closed: {} appends this run, durable in {} us mean, {} us max", n,
                    appendNanos.get() / n / 1000, maxAppendNanos.get() / 1000);
        }
    }

    @Override
    public void close() {
        close(Duration.ofSeconds(2));
    }

    private void rollbackQuietly() {
        try {
            connection.rollback();
        } catch (SQLException e) {
            Logger.warn("outbox rollback failed: {}", e.toString());
        }
    }

    @FunctionalInterface
    private interface Task<T> {
        T run() throws Exception;
    }

    private <T> CompletableFuture<T> submit(Task<T> task) {
        CompletableFuture<T> future = new CompletableFuture<>();
        try {
            owner.execute(() -> {
                try {
                    future.complete(task.run());
                } catch (Throwable e) {
                    future.completeExceptionally(e);
                }
            });
        } catch (RejectedExecutionException e) {
            long n = refused.incrementAndGet();
            future.completeExceptionally(new RejectedExecutionException(owner.isShutdown()
                    ? "the outbox is closed" : "the outbox queue is full (" + MAX_QUEUED_TASKS + " tasks; refused " + n + " so far)"));
        }
        return future;
    }
}
