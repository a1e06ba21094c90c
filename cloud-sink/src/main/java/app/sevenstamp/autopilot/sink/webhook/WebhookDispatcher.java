package app.sevenstamp.autopilot.sink.webhook;

import app.sevenstamp.autopilot.protocol.support.NamedThreads;
import app.sevenstamp.autopilot.sink.loyalty.LedgerType;
import app.sevenstamp.autopilot.sink.store.SinkStore;
import app.sevenstamp.autopilot.sink.store.StoreException;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.security.InvalidKeyException;
import java.security.NoSuchAlgorithmException;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;
import org.tinylog.Logger;

/**
 * Outgoing webhooks, fed by the ledger: every STAMP line is sent as {@code stamp.added}, every
 * REWARD line as {@code reward.issued}, every REDEEM line as {@code reward.redeemed}, every voucher line as
 * {@code voucher.issued}, {@code voucher.redeemed}, {@code voucher.reversed} or {@code voucher.voided} (with
 * {@code voucherCode}), in ledger
 * order, at least once. Because the ledger is written in the card's own transaction, no webhook
 * can be lost between the decision and the send. Every attempt is recorded in {@code webhook_deliveries};
 * a line with a successful delivery there is done.
 *
 * <p>Lines that commit out of id order: ledger ids are given at insert, and transactions (an ingest batch,
 * the POS route, a redemption, another sink instance) commit in any order, so a line can appear after
 * lines with higher ids were sent. A cursor moved past it would skip it for ever. So the cursor in
 * {@code webhook_cursor} only moves over lines older than {@link #SETTLE} (no transaction runs that long)
 * with every relevant line below delivered; each round sends the new lines after what this dispatcher
 * sent, and every {@link #SWEEP} it also sends the ones that appeared late behind it. Such a late line is
 * sent out of ledger order; the receiver deduplicates on {@code X-7stamp-Delivery} and orders by
 * {@code ledgerId} if it must.
 *
 * <p>Signature: header {@code X-7stamp-Signature: sha256=<hex HMAC-SHA256(secret, timestamp + "." + body)>}
 * with {@code X-7stamp-Timestamp} (epoch seconds) and {@code X-7stamp-Delivery} (a unique id per line);
 * the receiver recomputes it and rejects old timestamps (replay).
 *
 * <p>Retries: a failed send (no 2xx, or no answer in 10 s) is retried with exponential backoff from
 * 1 s to 5 min; later lines wait (order is kept). Several sink instances: one holds a lease on the
 * cursor row (60 s, renewed while sending), the others skip; no database lock is held during a send.
 *
 * <p>Threads: one named "webhooks" scheduler is the only caller of {@link #runOnce} (tests call it
 * directly instead of starting the scheduler); its fields are confined to that thread.
 */
public final class WebhookDispatcher implements AutoCloseable {
    static final Duration LEASE = Duration.ofSeconds(60);
    static final Duration MAX_BACKOFF = Duration.ofMinutes(5);
    /** Longer than any transaction of the sink: a line recorded before that is committed or rolled back. */
    static final Duration SETTLE = Duration.ofMinutes(2);
    /** How often the lines behind the sent ones are looked at for late commits. */
    static final Duration SWEEP = Duration.ofSeconds(30);
    private static final int BATCH = 50;
    private static final String TYPES = "entry_type IN ('STAMP', 'REWARD', 'REDEEM', 'VOUCHER_ISSUED', 'VOUCHER_REDEEMED', "
            + "'VOUCHER_REVERSED', 'VOUCHER_VOIDED')";
    private static final String UNSENT = "NOT EXISTS (SELECT 1 FROM webhook_deliveries d WHERE d.ledger_id = ledger.id "
            + "AND d.error IS NULL)";

    private final SinkStore store;
    private final URI url;
    private final byte[] secret;
    private final Clock clock;
    private final String owner = "sink-" + UUID.randomUUID();
    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
    private final ObjectMapper json = new ObjectMapper();
    private ScheduledExecutorService scheduler;
    private int failures;
    private Instant nextTry = Instant.MIN;
    /** The highest id this dispatcher sent while it held the lease; below it, only late lines are unsent. */
    private long sentThrough = -1;
    private Instant nextSweep = Instant.MIN;

    public WebhookDispatcher(SinkStore store, URI url, String secret, Clock clock) {
        this.store = store;
        this.url = url;
        this.secret = secret.getBytes(StandardCharsets.UTF_8);
        this.clock = clock;
    }

    /** Sends every second on the "webhooks" thread. */
    public WebhookDispatcher start() {
        scheduler = Executors.newSingleThreadScheduledExecutor(NamedThreads.daemon("webhooks"));
        scheduler.scheduleWithFixedDelay(() -> {
            try {
                runOnce();
            } catch (RuntimeException e) {
                // An exception escaping would cancel the schedule.
                Logger.error(e, "webhook dispatch failed; retrying");
            }
        }, 1, 1, TimeUnit.SECONDS);
        Logger.info("webhooks to {}", url);
        return this;
    }

    /** One round: take the lease, send pending lines in order until one fails; returns how many were delivered. */
    public int runOnce() {
        Instant now = clock.instant();
        if (now.isBefore(nextTry)) {
            return 0;
        }
        long cursor;
        try {
            Long c = lease(now);
            if (c == null) {
                sentThrough = -1; // another instance sends: what it sent is not ours to assume
                return 0;
            }
            cursor = c;
        } catch (StoreException e) {
            Logger.warn("webhooks: {}", e.getMessage());
            return 0;
        }
        sentThrough = Math.max(sentThrough, cursor);
        int delivered = 0;
        if (!now.isBefore(nextSweep)) {
            // lines that committed after higher ones were sent, then the cursor over what has settled
            int late = send(unsent(cursor, sentThrough));
            if (late < 0) {
                return 0;
            }
            if (late > 0) {
                Logger.info("webhooks: {} line(s) committed after later ones were sent; sent now", late);
            }
            delivered += late;
            settle(cursor, now);
            nextSweep = now.plus(SWEEP);
        }
        int fresh = send(unsent(sentThrough, Long.MAX_VALUE));
        return fresh < 0 ? delivered : delivered + fresh;
    }

    /** Sends the lines in order until one fails; returns how many were delivered, or -1 after a failure. */
    private int send(List<Map<String, Object>> lines) {
        int delivered = 0;
        for (Map<String, Object> line : lines) {
            long id = (Long) line.get("ledgerId");
            String body;
            try {
                body = json.writeValueAsString(line);
            } catch (IOException e) {
                throw new IllegalStateException("cannot encode a webhook body", e);
            }
            String delivery = "wh-" + id;
            String error = null;
            int status = 0;
            long timestamp = clock.instant().getEpochSecond();
            try {
                HttpResponse<Void> response = http.send(HttpRequest.newBuilder(url).timeout(Duration.ofSeconds(10))
                        .header("Content-Type", "application/json")
                        .header("X-7stamp-Delivery", delivery)
                        .header("X-7stamp-Timestamp", Long.toString(timestamp))
                        .header("X-7stamp-Signature", "sha256=" + sign(timestamp + "." + body))
                        .POST(HttpRequest.BodyPublishers.ofString(body)).build(), HttpResponse.BodyHandlers.discarding());
                status = response.statusCode();
                if (status / 100 != 2) {
                    error = "HTTP " + status;
                }
            } catch (IOException e) {
                error = e.getClass().getSimpleName() + ": " + e.getMessage();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return -1;
            }
            record(delivery, id, (String) line.get("type"), body, status, error, clock.instant());
            if (error != null) {
                failures++;
                long seconds = Math.min(MAX_BACKOFF.toSeconds(), 1L << Math.min(failures - 1, 20));
                nextTry = clock.instant().plusSeconds(seconds);
                Logger.warn("webhook {} to {} failed ({}), attempt {}; next try in {} s", delivery, url, error, failures,
                        seconds);
                return -1;
            }
            failures = 0;
            sentThrough = Math.max(sentThrough, id);
            delivered++;
        }
        return delivered;
    }

    String sign(String text) {
        try {
            Mac mac = Mac.getInstance("HmacSHA256");
            mac.init(new SecretKeySpec(secret, "HmacSHA256"));
            return HexFormat.of().formatHex(mac.doFinal(text.getBytes(StandardCharsets.UTF_8)));
        } catch (NoSuchAlgorithmException | InvalidKeyException e) {
            throw new IllegalStateException("HmacSHA256 is part of every JDK", e);
        }
    }

    /** Takes or renews the lease; returns the cursor, or null when another instance holds it. */
    private Long lease(Instant now) {
        return store.transaction(tx -> {
            try (PreparedStatement ps = tx.connection().prepareStatement(
                    "SELECT last_ledger_id, owner, lease_until FROM webhook_cursor WHERE id = 1 FOR UPDATE");
                    ResultSet rs = ps.executeQuery()) {
                rs.next();
                long last = rs.getLong(1);
                String holder = rs.getString(2);
                OffsetDateTime until = rs.getObject(3, OffsetDateTime.class);
                if (holder != null && !holder.equals(owner) && until != null && until.toInstant().isAfter(now)) {
                    return null;
                }
                try (PreparedStatement up = tx.connection().prepareStatement(
                        "UPDATE webhook_cursor SET owner = ?, lease_until = ? WHERE id = 1")) {
                    up.setString(1, owner);
                    up.setObject(2, now.plus(LEASE).atOffset(ZoneOffset.UTC));
                    up.executeUpdate();
                }
                return last;
            }
        });
    }

    /** The relevant lines with {@code after < id <= through} and no successful delivery, oldest first. */
    private List<Map<String, Object>> unsent(long after, long through) {
        if (through <= after) {
            return List.of();
        }
        return store.transaction(tx -> {
            List<Map<String, Object>> out = new ArrayList<>();
            try (PreparedStatement ps = tx.connection().prepareStatement("SELECT id, entry_type, card_id, program_id, "
                    + "stamps_delta, rewards_delta, event_id, location, occurred_at, note, voucher_code FROM ledger WHERE id > ? "
                    + "AND id <= ? AND " + TYPES + " AND " + UNSENT + " ORDER BY id FETCH FIRST " + BATCH + " ROWS ONLY")) {
                ps.setLong(1, after);
                ps.setLong(2, through);
                try (ResultSet rs = ps.executeQuery()) {
                    while (rs.next()) {
                        Map<String, Object> m = new LinkedHashMap<>();
                        m.put("ledgerId", rs.getLong(1));
                        m.put("type", switch (LedgerType.valueOf(rs.getString(2))) {
                            case STAMP -> "stamp.added";
                            case REWARD -> "reward.issued";
                            case VOUCHER_ISSUED -> "voucher.issued";
                            case VOUCHER_REDEEMED -> "voucher.redeemed";
                            case VOUCHER_REVERSED -> "voucher.reversed";
                            case VOUCHER_VOIDED -> "voucher.voided";
                            default -> "reward.redeemed";
                        });
                        m.put("cardId", rs.getString(3));
                        m.put("programId", rs.getString(4));
                        m.put("eventId", rs.getString(7));
                        m.put("location", rs.getString(8));
                        m.put("occurredAt", rs.getObject(9, OffsetDateTime.class).toInstant().toString());
                        m.put("note", rs.getString(10));
                        if (rs.getString(11) != null) {
                            m.put("voucherCode", rs.getString(11));
                        }
                        out.add(m);
                    }
                }
            }
            return out;
        });
    }

    private void record(String delivery, long ledgerId, String type, String body, int status, String error, Instant at) {
        store.transaction(tx -> {
            try (PreparedStatement ps = tx.connection().prepareStatement("INSERT INTO webhook_deliveries (delivery_id, "
                    + "ledger_id, event_type, url, body, status, error, attempted_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)")) {
                ps.setString(1, delivery);
                ps.setLong(2, ledgerId);
                ps.setString(3, type);
                ps.setString(4, url.toString());
                ps.setString(5, body.length() > 4000 ? body.substring(0, 4000) : body);
                ps.setInt(6, status);
                ps.setString(7, error == null ? null : error.length() > 500 ? error.substring(0, 500) : error);
                ps.setObject(8, at.atOffset(ZoneOffset.UTC));
                ps.executeUpdate();
            }
            return null;
        });
    }

    /**
     * Moves the cursor over the lines that can no longer change: recorded before {@link #SETTLE} and with
     * every relevant line up to them delivered. A line still in an open transaction was recorded after its
     * lower-id neighbours, so it is never passed.
     */
    private void settle(long cursor, Instant now) {
        store.transaction(tx -> {
            long firstUnsent = Long.MAX_VALUE;
            try (PreparedStatement ps = tx.connection().prepareStatement(
                    "SELECT MIN(id) FROM ledger WHERE id > ? AND " + TYPES + " AND " + UNSENT)) {
                ps.setLong(1, cursor);
                try (ResultSet rs = ps.executeQuery()) {
                    if (rs.next() && rs.getObject(1) != null) {
                        firstUnsent = rs.getLong(1);
                    }
                }
            }
            long settled;
            try (PreparedStatement ps = tx.connection().prepareStatement(
                    "SELECT MAX(id) FROM ledger WHERE id > ? AND id < ? AND recorded_at < ?")) {
                ps.setLong(1, cursor);
                ps.setLong(2, firstUnsent);
                ps.setObject(3, now.minus(SETTLE).atOffset(ZoneOffset.UTC));
                try (ResultSet rs = ps.executeQuery()) {
                    settled = rs.next() && rs.getObject(1) != null ? rs.getLong(1) : cursor;
                }
            }
            if (settled > cursor) {
                try (PreparedStatement ps = tx.connection().prepareStatement(
                        "UPDATE webhook_cursor SET last_ledger_id = ? WHERE id = 1 AND owner = ? AND last_ledger_id < ?")) {
                    ps.setLong(1, settled);
                    ps.setString(2, owner);
                    ps.setLong(3, settled);
                    ps.executeUpdate();
                }
            }
            return null;
        });
    }

    @Override
    public void close() {
        if (scheduler != null) {
            // no interrupt: H2 closes its whole database when a thread is interrupted inside a write; a send
            // gives up after its 10 s timeout
            scheduler.shutdown();
            try {
                scheduler.awaitTermination(12, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }
}
