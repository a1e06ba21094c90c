package app.sevenstamp.autopilot.sink.voucher;

import app.sevenstamp.autopilot.protocol.voucher.VoucherCode;
import app.sevenstamp.autopilot.sink.loyalty.LedgerType;
import app.sevenstamp.autopilot.sink.store.LedgerEntry;
import app.sevenstamp.autopilot.sink.store.LedgerHook;
import app.sevenstamp.autopilot.sink.store.SinkStore;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Optional;

/**
 * The SQL of vouchers ({@code vouchers}), of redeem requests ({@code voucher_requests}) and of the
 * voucher lines of the ledger. The same statements run on H2 and PostgreSQL.
 *
 * <p>Thread-safe: statements run on the caller's transaction ({@code static} methods) or on a pooled
 * connection of their own (reads).
 */
public final class VoucherStore {
    private static final String COLUMNS = "code, title, origin, card_id, program_id, location, valid_from, valid_until, "
            + "pos_code, issued_at, issued_by, reason, event_id, redeemed_at, redeemed_by, redeem_request";

    /** What one request id asked and got; CANCEL once recorded stays CANCEL. */
    record RequestRow(String requestId, String deviceId, String voucherCode, String action, String outcome) {
    }

    private final SinkStore store;

    public VoucherStore(SinkStore store) {
        this.store = Objects.requireNonNull(store, "store");
    }

    public Optional<Voucher> find(VoucherCode code) {
        return store.transaction(tx -> find(tx, code, false));
    }

    /** The card's vouchers, newest first. */
    public List<Voucher> byCard(String cardId) {
        return store.transaction(tx -> list(tx.connection(), "WHERE card_id = ? ORDER BY issued_at DESC, code", cardId, 500));
    }

    /** The newest vouchers of all cards and none. */
    public List<Voucher> latest(int limit) {
        return store.transaction(tx -> list(tx.connection(), "ORDER BY issued_at DESC, code", null, limit));
    }

    static Optional<Voucher> find(SinkStore.Tx tx, VoucherCode code, boolean lock) throws SQLException {
        try (PreparedStatement ps = tx.connection().prepareStatement("SELECT " + COLUMNS + " FROM vouchers WHERE code = ?"
                + (lock ? " FOR UPDATE" : ""))) {
            ps.setString(1, code.text());
            try (ResultSet rs = ps.executeQuery()) {
                return rs.next() ? Optional.of(row(rs)) : Optional.empty();
            }
        }
    }

    /** The card's oldest reward voucher that is active at {@code now}, locked; empty when none. */
    static Optional<Voucher> oldestActiveReward(SinkStore.Tx tx, String cardId, Instant now) throws SQLException {
        try (PreparedStatement ps = tx.connection().prepareStatement("SELECT " + COLUMNS + " FROM vouchers WHERE card_id = ? "
                + "AND origin = 'REWARD' AND redeemed_at IS NULL AND valid_from <= ? AND (valid_until IS NULL OR valid_until > ?) "
                + "ORDER BY issued_at, code FETCH FIRST 1 ROWS ONLY FOR UPDATE")) {
            ps.setString(1, cardId);
            ps.setObject(2, utc(now));
            ps.setObject(3, utc(now));
            try (ResultSet rs = ps.executeQuery()) {
                return rs.next() ? Optional.of(row(rs)) : Optional.empty();
            }
        }
    }

    /** The card's unredeemed reward vouchers not expired at {@code now}, newest first, locked. */
    static List<Voucher> unexpiredRewardsNewestFirst(SinkStore.Tx tx, String cardId, Instant now) throws SQLException {
        List<Voucher> out = new ArrayList<>();
        try (PreparedStatement ps = tx.connection().prepareStatement("SELECT " + COLUMNS + " FROM vouchers WHERE card_id = ? "
                + "AND origin = 'REWARD' AND redeemed_at IS NULL AND (valid_until IS NULL OR valid_until > ?) "
                + "ORDER BY issued_at DESC, code DESC FOR UPDATE")) {
            ps.setString(1, cardId);
            ps.setObject(2, utc(now));
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    out.add(row(rs));
                }
            }
        }
        return out;
    }

    /** The card's unredeemed reward vouchers earned by the stamp event {@code eventId}, locked. */
    static List<Voucher> unusedRewardsOf(SinkStore.Tx tx, String cardId, String eventId) throws SQLException {
        List<Voucher> out = new ArrayList<>();
        try (PreparedStatement ps = tx.connection().prepareStatement("SELECT " + COLUMNS + " FROM vouchers WHERE card_id = ? "
                + "AND event_id = ? AND origin = 'REWARD' AND redeemed_at IS NULL ORDER BY code FOR UPDATE")) {
            ps.setString(1, cardId);
            ps.setString(2, eventId);
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    out.add(row(rs));
                }
            }
        }
        return out;
    }

    /** Ends the voucher's validity at {@code at} (it reads as EXPIRED from then on). */
    static void expire(SinkStore.Tx tx, VoucherCode code, Instant at) throws SQLException {
        try (PreparedStatement ps = tx.connection().prepareStatement(
                "UPDATE vouchers SET valid_until = ? WHERE code = ? AND redeemed_at IS NULL")) {
            ps.setObject(1, utc(at));
            ps.setString(2, code.text());
            ps.executeUpdate();
        }
    }

    static void insert(SinkStore.Tx tx, Voucher v) throws SQLException {
        try (PreparedStatement ps = tx.connection().prepareStatement("INSERT INTO vouchers (" + COLUMNS
                + ") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")) {
            ps.setString(1, v.code().text());
            ps.setString(2, v.title());
            ps.setString(3, v.origin().name());
            ps.setString(4, v.cardId());
            ps.setString(5, v.programId());
            ps.setString(6, v.location());
            ps.setObject(7, utc(v.validFrom()));
            ps.setObject(8, utc(v.validUntil()));
            ps.setString(9, v.posCode());
            ps.setObject(10, utc(v.issuedAt()));
            ps.setString(11, clip(v.issuedBy(), 64));
            ps.setString(12, clip(v.reason(), 500));
            ps.setString(13, v.eventId());
            ps.setObject(14, utc(v.redeemedAt()));
            ps.setString(15, v.redeemedBy());
            ps.setString(16, v.redeemRequest());
            ps.executeUpdate();
        }
    }

    /** Marks it redeemed unless it already is: true when this call redeemed it. */
    static boolean markRedeemed(SinkStore.Tx tx, VoucherCode code, Instant at, String by, String requestId)
            throws SQLException {
        try (PreparedStatement ps = tx.connection().prepareStatement("UPDATE vouchers SET redeemed_at = ?, redeemed_by = ?, "
                + "redeem_request = ? WHERE code = ? AND redeemed_at IS NULL")) {
            ps.setObject(1, utc(at));
            ps.setString(2, clip(by, 64));
            ps.setString(3, requestId);
            ps.setString(4, code.text());
            return ps.executeUpdate() == 1;
        }
    }

    /** Takes back the redemption made by {@code requestId}: true when there was one. */
    static boolean unmarkRedeemed(SinkStore.Tx tx, VoucherCode code, String requestId) throws SQLException {
        try (PreparedStatement ps = tx.connection().prepareStatement("UPDATE vouchers SET redeemed_at = NULL, "
                + "redeemed_by = NULL, redeem_request = NULL WHERE code = ? AND redeem_request = ?")) {
            ps.setString(1, code.text());
            ps.setString(2, requestId);
            return ps.executeUpdate() == 1;
        }
    }

    /**
     * Tells {@code hook} (the wallet's pass updates) of a voucher line the caller just appended, when the
     * voucher belongs to a card: the card's pass shows its active vouchers.
     */
    static void tell(LedgerHook hook, SinkStore.Tx tx, Voucher v, LedgerType type, int rewardsDelta, String eventId,
            Instant now, String actor) throws SQLException {
        if (v.cardId() == null || v.programId() == null) {
            return;
        }
        LedgerEntry line = new LedgerEntry(0, v.cardId(), v.programId(), type, 0, rewardsDelta, 0, eventId, null, now, now,
                null, v.code().text(), actor, null, null);
        if (hook.wants(line)) {
            hook.appended(tx, line);
        }
    }

    /** Appends a voucher line to the ledger, in the caller's transaction. */
    static void ledger(SinkStore.Tx tx, Voucher v, LedgerType type, int rewardsDelta, String eventId, String location,
            Instant occurredAt, Instant now, String reason, String actor) throws SQLException {
        try (PreparedStatement ps = tx.connection().prepareStatement("INSERT INTO ledger (card_id, program_id, entry_type, "
                + "stamps_delta, rewards_delta, earned_delta, event_id, location, occurred_at, recorded_at, reason, note, "
                + "actor, voucher_code) VALUES (?, ?, ?, 0, ?, 0, ?, ?, ?, ?, ?, ?, ?, ?)")) {
            ps.setString(1, v.cardId());
            ps.setString(2, v.programId());
            ps.setString(3, type.name());
            ps.setInt(4, rewardsDelta);
            ps.setString(5, eventId);
            ps.setString(6, clip(location, 64));
            ps.setObject(7, utc(occurredAt));
            ps.setObject(8, utc(now));
            ps.setString(9, clip(reason, 32));
            // The note names the voucher, so the card's ledger listing shows which one.
            ps.setString(10, clip(v.code().text() + " " + v.title(), 500));
            ps.setString(11, clip(actor, 64));
            ps.setString(12, v.code().text());
            ps.executeUpdate();
        }
    }

    /** The rewards delta of the VOUCHER_REDEEMED line that {@code requestId} wrote for the voucher, 0 when none. */
    static int redeemedRewardsDelta(SinkStore.Tx tx, VoucherCode code, String requestId) throws SQLException {
        try (PreparedStatement ps = tx.connection().prepareStatement("SELECT rewards_delta FROM ledger WHERE voucher_code = ? "
                + "AND event_id = ? AND entry_type = 'VOUCHER_REDEEMED' ORDER BY id DESC FETCH FIRST 1 ROWS ONLY")) {
            ps.setString(1, code.text());
            ps.setString(2, requestId);
            try (ResultSet rs = ps.executeQuery()) {
                return rs.next() ? rs.getInt(1) : 0;
            }
        }
    }

    static Optional<RequestRow> request(SinkStore.Tx tx, String requestId) throws SQLException {
        try (PreparedStatement ps = tx.connection().prepareStatement("SELECT request_id, device_id, voucher_code, action, "
                + "outcome FROM voucher_requests WHERE request_id = ?")) {
            ps.setString(1, requestId);
            try (ResultSet rs = ps.executeQuery()) {
                return rs.next() ? Optional.of(new RequestRow(rs.getString(1), rs.getString(2), rs.getString(3),
                        rs.getString(4), rs.getString(5))) : Optional.empty();
            }
        }
    }

    static void saveRequest(SinkStore.Tx tx, RequestRow r, boolean isNew, Instant at) throws SQLException {
        String sql = isNew
                ? "INSERT INTO voucher_requests (action, outcome, decided_at, request_id, device_id, voucher_code) "
                        + "VALUES (?, ?, ?, ?, ?, ?)"
                : "UPDATE voucher_requests SET action = ?, outcome = ?, decided_at = ? WHERE request_id = ?";
        try (PreparedStatement ps = tx.connection().prepareStatement(sql)) {
            ps.setString(1, r.action());
            ps.setString(2, r.outcome());
            ps.setObject(3, utc(at));
            ps.setString(4, r.requestId());
            if (isNew) {
                ps.setString(5, r.deviceId());
                ps.setString(6, clip(r.voucherCode(), 64));
            }
            ps.executeUpdate();
        }
    }

    private static List<Voucher> list(Connection c, String where, String cardId, int limit) throws SQLException {
        List<Voucher> out = new ArrayList<>();
        try (PreparedStatement ps = c.prepareStatement("SELECT " + COLUMNS + " FROM vouchers " + where
                + " FETCH FIRST " + limit + " ROWS ONLY")) {
            if (cardId != null) {
                ps.setString(1, cardId);
            }
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    out.add(row(rs));
                }
            }
        }
        return out;
    }

    private static Voucher row(ResultSet rs) throws SQLException {
        String text = rs.getString(1);
        VoucherCode code = VoucherCode.parse(text).orElseThrow(() -> new SQLException(
                "vouchers holds a code that does not parse: '" + text + "'"));
        return new Voucher(code, rs.getString(2), VoucherOrigin.valueOf(rs.getString(3)), rs.getString(4),
                rs.getString(5), rs.getString(6), instant(rs, 7), instant(rs, 8), rs.getString(9), instant(rs, 10),
                rs.getString(11), rs.getString(12), rs.getString(13), instant(rs, 14), rs.getString(15), rs.getString(16));
    }

    static OffsetDateTime utc(Instant at) {
        return at == null ? null : at.atOffset(ZoneOffset.UTC);
    }

    private static Instant instant(ResultSet rs, int column) throws SQLException {
        OffsetDateTime t = rs.getObject(column, OffsetDateTime.class);
        return t == null ? null : t.toInstant();
    }

    static String clip(String s, int max) {
        return s == null || s.length() <= max ? s : s.substring(0, max);
    }
}
