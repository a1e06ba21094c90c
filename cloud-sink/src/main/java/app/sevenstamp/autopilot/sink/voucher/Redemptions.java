package app.sevenstamp.autopilot.sink.voucher;

import app.sevenstamp.autopilot.protocol.RedeemAnswer;
import app.sevenstamp.autopilot.protocol.RedeemOutcome;
import app.sevenstamp.autopilot.protocol.RedeemRequest;
import app.sevenstamp.autopilot.protocol.WireCodec;
import app.sevenstamp.autopilot.protocol.voucher.VoucherCode;
import app.sevenstamp.autopilot.sink.loyalty.CardBalance;
import app.sevenstamp.autopilot.sink.loyalty.LedgerType;
import app.sevenstamp.autopilot.sink.store.LedgerHook;
import app.sevenstamp.autopilot.sink.store.SinkStore;
import app.sevenstamp.autopilot.sink.store.StoredCard;
import java.sql.SQLException;
import java.time.Clock;
import java.time.Instant;
import java.util.Objects;
import java.util.Optional;

/**
 * Decides one redeem request, the same for a box (MQTT) and a till (POS API), in one transaction.
 *
 * <p>Rules, in order: a request id seen before for another voucher or device is OTHER (nothing written, no
 * till code); a request id seen before gets its recorded answer again (a CANCEL, once recorded,
 * answers CANCELLED for ever, so a REDEEM that arrives after its CANCEL redeems nothing); an unknown
 * code is UNKNOWN; then REDEEMED by another request is ALREADY_REDEEMED, past validity EXPIRED, before it
 * NOT_ACTIVE, a voucher bound to another location WRONG_LOCATION, a reward voucher whose card has no reward
 * left ALREADY_REDEEMED; else it is redeemed now. The till code is answered only with REDEEMED. Time is the
 * sink's clock, never the box's.
 *
 * <p>Exactly once across instances: the voucher row is locked ({@code SELECT ... FOR UPDATE}) before
 * the request row is read, so two requests for one voucher are decided one after the other, and the
 * conditional update ({@code redeemed_at IS NULL}) is the last guard. A CANCEL reverses only what its
 * own request id redeemed. For a reward voucher the card row is locked first, in the ingest's order.
 *
 * <p>Thread-safe.
 */
public final class Redemptions {
    private final SinkStore store;
    private final VoucherMetrics metrics;
    private final Clock clock;
    private final LedgerHook voucherLines;

    /** @param voucherLines told of each voucher line written, in its transaction (wallet pass updates) */
    public Redemptions(SinkStore store, VoucherMetrics metrics, Clock clock, LedgerHook voucherLines) {
        this.voucherLines = Objects.requireNonNull(voucherLines, "voucherLines");
        this.store = Objects.requireNonNull(store, "store");
        this.metrics = Objects.requireNonNull(metrics, "metrics");
        this.clock = Objects.requireNonNull(clock, "clock");
    }

    /**
     * Decides and commits; the caller sends the answer after this returns.
     *
     * @param actor who asked, for the ledger: the device id, or {@code pos-<location>}
     */
    public RedeemAnswer decide(RedeemRequest r, String actor) {
        Instant now = clock.instant();
        Optional<VoucherCode> parsed = VoucherCode.parse(r.voucherCode());
        if (parsed.isEmpty()) {
            // The box checks the check character before asking, so this is a damaged or forged request.
            return answer(r, r.action() == RedeemRequest.Action.CANCEL ? RedeemOutcome.CANCELLED : RedeemOutcome.UNKNOWN,
                    null, r.voucherCode());
        }
        VoucherCode code = parsed.get();
        return store.transaction(tx -> {
            Optional<Voucher> peek = VoucherStore.find(tx, code, false);
            if (peek.isPresent() && peek.get().origin() == VoucherOrigin.REWARD && peek.get().cardId() != null) {
                // Card before voucher, the order the ingest locks them in (a card's REDEEM uses up a voucher).
                tx.lockCard(peek.get().cardId());
            }
            Optional<Voucher> locked = VoucherStore.find(tx, code, true);
            if (locked.isEmpty()) {
                // Nothing to redeem or reverse, and no row to lock: nothing is recorded.
                return answer(r, r.action() == RedeemRequest.Action.CANCEL ? RedeemOutcome.CANCELLED
                        : RedeemOutcome.UNKNOWN, null, code.text());
            }
            Voucher v = locked.get();
            Optional<VoucherStore.RequestRow> seen = VoucherStore.request(tx, r.requestId());
            if (seen.isPresent() && !(code.text().equals(seen.get().voucherCode())
                    && r.deviceId().equals(seen.get().deviceId()))) {
                // The id was used for another voucher or by another device: not a redelivery. Answering the
                // stored outcome for this voucher would tell a reuse REDEEMED (and show its till code) while
                // redeeming nothing; a CANCEL would rewrite the other request's row. Refuse, change nothing.
                tx.afterCommit(() -> metrics.countOutcome(RedeemOutcome.OTHER));
                return answer(r, RedeemOutcome.OTHER, null, code.text());
            }
            if (r.action() == RedeemRequest.Action.CANCEL) {
                cancel(tx, r, v, seen, actor, now);
                return answer(r, RedeemOutcome.CANCELLED, v, code.text());
            }
            if (seen.isPresent()) {
                // A redelivery: the same answer as the first time.
                return answer(r, outcomeOf(seen.get()), v, code.text());
            }
            RedeemOutcome outcome = switch (v.state(now)) {
                case REDEEMED -> RedeemOutcome.ALREADY_REDEEMED;
                case EXPIRED -> RedeemOutcome.EXPIRED;
                case ISSUED -> RedeemOutcome.NOT_ACTIVE;
                case ACTIVE -> v.location() != null && !v.location().equals(r.location())
                        ? RedeemOutcome.WRONG_LOCATION : RedeemOutcome.REDEEMED;
            };
            if (outcome == RedeemOutcome.REDEEMED && !cardCanGiveReward(tx, v)) {
                // The reward this voucher stands for is gone from the card (used by card, by an undo or an
                // operator's adjustment): to the counter it is used up. The voucher is left as it is.
                outcome = RedeemOutcome.ALREADY_REDEEMED;
            }
            if (outcome == RedeemOutcome.REDEEMED) {
                if (!VoucherStore.markRedeemed(tx, code, now, actor, r.requestId())) {
                    throw new SQLException("voucher " + code + " was redeemed under its own row lock");
                }
                int delta = cardRewards(tx, v, -1);
                VoucherStore.ledger(tx, v, LedgerType.VOUCHER_REDEEMED, delta, r.requestId(), r.location(), now, now,
                        null, actor);
                VoucherStore.tell(voucherLines, tx, v, LedgerType.VOUCHER_REDEEMED, delta, r.requestId(), now, actor);
            }
            VoucherStore.saveRequest(tx, new VoucherStore.RequestRow(r.requestId(), r.deviceId(), code.text(),
                    RedeemRequest.Action.REDEEM.name(), outcome.name()), true, now);
            RedeemOutcome decided = outcome;
            // Counted once the decision stayed: a rolled back or retried attempt counts nothing.
            tx.afterCommit(() -> metrics.countOutcome(decided));
            return answer(r, outcome, v, code.text());
        });
    }

    private void cancel(SinkStore.Tx tx, RedeemRequest r, Voucher v, Optional<VoucherStore.RequestRow> seen, String actor,
            Instant now) throws SQLException {
        if (seen.isPresent() && seen.get().action().equals(RedeemRequest.Action.CANCEL.name())) {
            return; // cancelled before
        }
        if (seen.isPresent() && VoucherStore.unmarkRedeemed(tx, v.code(), r.requestId())) {
            int taken = VoucherStore.redeemedRewardsDelta(tx, v.code(), r.requestId());
            int delta = taken == 0 ? 0 : cardRewards(tx, v, -taken);
            VoucherStore.ledger(tx, v, LedgerType.VOUCHER_REVERSED, delta, r.requestId(), r.location(), now, now,
                    "CANCELLED", actor);
            VoucherStore.tell(voucherLines, tx, v, LedgerType.VOUCHER_REVERSED, delta, r.requestId(), now, actor);
            tx.afterCommit(metrics::countReversed);
        }
        VoucherStore.saveRequest(tx, new VoucherStore.RequestRow(r.requestId(), r.deviceId(), v.code().text(),
                RedeemRequest.Action.CANCEL.name(), RedeemOutcome.CANCELLED.name()), seen.isEmpty(), now);
        tx.afterCommit(() -> metrics.countOutcome(RedeemOutcome.CANCELLED));
    }

    /** False for a reward voucher whose card has no reward left to give; true for any other voucher. */
    private static boolean cardCanGiveReward(SinkStore.Tx tx, Voucher v) throws SQLException {
        if (v.origin() != VoucherOrigin.REWARD || v.cardId() == null) {
            return true;
        }
        Optional<StoredCard> card = tx.lockCard(v.cardId());
        return card.isPresent() && card.get().balance().rewardsAvailable() > 0;
    }

    /**
     * For a reward voucher, moves the card's available rewards by {@code delta}; returns the delta applied
     * (0 for goodwill, or when the card has no reward left to take: the operator may have adjusted it).
     */
    private static int cardRewards(SinkStore.Tx tx, Voucher v, int delta) throws SQLException {
        if (v.origin() != VoucherOrigin.REWARD || v.cardId() == null) {
            return 0;
        }
        Optional<StoredCard> card = tx.lockCard(v.cardId());
        if (card.isEmpty()) {
            return 0;
        }
        CardBalance b = card.get().balance();
        if (b.rewardsAvailable() + delta < 0) {
            return 0;
        }
        tx.saveCard(card.get().with(new CardBalance(b.stamps(), b.rewardsAvailable() + delta, b.rewardsEarnedTotal()),
                card.get().lastStampAt()), false);
        return delta;
    }

    private static RedeemOutcome outcomeOf(VoucherStore.RequestRow row) {
        try {
            return RedeemOutcome.valueOf(row.outcome());
        } catch (IllegalArgumentException e) {
            return RedeemOutcome.OTHER;
        }
    }

    /** The till code only with REDEEMED: a refusal must not tell anyone a code that can be keyed at a till. */
    private static RedeemAnswer answer(RedeemRequest r, RedeemOutcome outcome, Voucher v, String code) {
        return new RedeemAnswer(WireCodec.SCHEMA, r.requestId(), r.deviceId(), outcome, code,
                v == null ? null : v.title(), v == null || outcome != RedeemOutcome.REDEEMED ? null : v.posCode(),
                v == null ? null : v.validUntil());
    }
}
