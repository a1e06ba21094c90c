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
 * can be lost between the decision and the send; the position sent so far is kept in
 * {@code webhook_cursor}, and every attempt is recorded in {@code webhook_deliveries}.
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
    private static final int BATCH = 50;

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
                return 0; // another instance sends
            }
            cursor = c;
        } catch (StoreException e) {
            Logger.warn("webhooks: {}", e.getMessage());
            return 0;
        }
        int delivered = 0;
        for (Map<String, Object> line : pending(cursor)) {
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
                return delivered;
            }
            record(delivery, id, (String) line.get("type"), body, status, error, clock.instant());
            if (error != null) {
                failures++;
                long seconds = Math.min(MAX_BACKOFF.toSeconds(), 1L << Math.min(failures - 1, 20));
                nextTry = clock.instant().plusSeconds(seconds);
                Logger.warn("webhook {} to {} failed ({}), attempt {}; next try in {} s", delivery, url, error, failures,
                        seconds);
                return delivered;
            }
            failures = 0;
            advance(id);
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

    private List<Map<String, Object>> pending(long cursor) {
        return store.transaction(tx -> {
            List<Map<String, Object>> out = new ArrayList<>();
            try (PreparedStatement ps = tx.connection().prepareStatement("SELECT id, entry_type, card_id, program_id, "
                    + "stamps_delta, rewards_delta, event_id, location, occurred_at, note, voucher_code FROM ledger WHERE id > ? AND "
                    + "entry_type IN ('STAMP', 'REWARD', 'REDEEM', 'VOUCHER_ISSUED', 'VOUCHER_REDEEMED', 'VOUCHER_REVERSED', "
                    + "'VOUCHER_VOIDED') "
                    + "ORDER BY id FETCH FIRST " + BATCH + " ROWS ONLY")) {
                ps.setLong(1, cursor);
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

    private void advance(long ledgerId) {
        store.transaction(tx -> {
            try (PreparedStatement ps = tx.connection().prepareStatement(
                    "UPDATE webhook_cursor SET last_ledger_id = ? WHERE id = 1 AND owner = ?")) {
                ps.setLong(1, ledgerId);
                ps.setString(2, owner);
                ps.executeUpdate();
            }
            return null;
        });
    }

    @Override
    public void close() {
        if (scheduler != null) {
            scheduler.shutdownNow();
            try {
                scheduler.awaitTermination(2, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }
}
