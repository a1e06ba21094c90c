package app.sevenstamp.autopilot.sink.voucher;

import app.sevenstamp.autopilot.protocol.voucher.VoucherCode;
import app.sevenstamp.autopilot.sink.loyalty.LedgerType;
import app.sevenstamp.autopilot.sink.store.LedgerEntry;
import app.sevenstamp.autopilot.sink.store.LedgerHook;
import app.sevenstamp.autopilot.sink.store.SinkStore;
import app.sevenstamp.autopilot.sink.store.StoredCard;
import java.security.SecureRandom;
import java.sql.SQLException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import org.tinylog.Logger;

/**
 * Issues vouchers: one for each reward a card earns (as a {@link LedgerHook} of the ingest, inside the
 * transaction that earned it), and goodwill vouchers for operators. Each issue takes a POS code from the
 * pool and writes a VOUCHER_ISSUED ledger line, in the same transaction as the voucher row.
 *
 * <p>When an operator undoes the stamp that earned a reward, its unused voucher is voided (expired now).
 * After any undo or adjustment that lowers the card's rewards, the card's newest unexpired reward vouchers
 * are voided until they are no more than its rewards available.
 * When a card's reward is redeemed the old way (a REDEEM event: the card scanned in redeem mode),
 * the card's oldest active reward voucher is marked redeemed with it, so one reward cannot be spent
 * twice, once by card and once by voucher.
 *
 * <p>Thread-safe (no mutable state besides the random source, which is thread-safe).
 */
public final class VoucherIssuer implements LedgerHook {
    /** The title of a reward voucher for a program without {@code program.<id>.voucherTitle}. */
    static final String DEFAULT_TITLE = "Reward";

    /** An operator's one-time voucher. */
    public record Goodwill(String title, String cardId, Duration validity, Instant validFrom, String location,
            String reason, String operator) {
        public Goodwill {
            Objects.requireNonNull(title, "title");
            Objects.requireNonNull(reason, "reason");
            Objects.requireNonNull(operator, "operator");
        }
    }

    /** A goodwill voucher that cannot be issued, with why (for a 4xx answer or exit status). */
    public static final class Refused extends RuntimeException {
        private static final long serialVersionUID = 1L;

        Refused(String message) {
            super(message);
        }
    }

    private final SinkStore store;
    private final PosCodePool pool;
    private final Map<String, VoucherPlan> plans;
    private final VoucherMetrics metrics;
    private final Clock clock;
    private final SecureRandom random;

    public VoucherIssuer(SinkStore store, PosCodePool pool, Map<String, VoucherPlan> plans, VoucherMetrics metrics,
            Clock clock, SecureRandom random) {
        this.store = Objects.requireNonNull(store, "store");
        this.pool = Objects.requireNonNull(pool, "pool");
        this.plans = Map.copyOf(plans);
        this.metrics = Objects.requireNonNull(metrics, "metrics");
        this.clock = Objects.requireNonNull(clock, "clock");
        this.random = Objects.requireNonNull(random, "random");
    }

    @Override
    public boolean wants(LedgerEntry line) {
        return switch (line.type()) {
            case REWARD, REDEEM -> true;
            case UNDO, ADJUST -> line.rewards() < 0;
            default -> false;
        };
    }

    @Override
    public void appended(SinkStore.Tx tx, LedgerEntry line) throws SQLException {
        if (line.type() == LedgerType.REWARD) {
            for (int i = 0; i < line.rewards(); i++) {
                issueReward(tx, line);
            }
        } else if (line.type() == LedgerType.UNDO && line.rewards() < 0) {
            // The undone stamp's reward is gone (CardCorrections refuses an undo whose reward was used).
            for (Voucher v : VoucherStore.unusedRewardsOf(tx, line.cardId(), line.eventId())) {
                voidVoucher(tx, v, line);
            }
            fitToCard(tx, line);
        } else if (line.type() == LedgerType.ADJUST && line.rewards() < 0) {
            fitToCard(tx, line);
        } else if (line.type() == LedgerType.REDEEM) {
            Optional<Voucher> v = VoucherStore.oldestActiveReward(tx, line.cardId(), line.recordedAt());
            if (v.isPresent() && VoucherStore.markRedeemed(tx, v.get().code(), line.recordedAt(), line.actor(), line.eventId())) {
                // rewards delta 0: the REDEEM line before it already took the reward off the card
                VoucherStore.ledger(tx, v.get(), LedgerType.VOUCHER_REDEEMED, 0, line.eventId(), line.location(),
                        line.occurredAt(), line.recordedAt(), "CARD_REDEEM", line.actor());
            }
        }
    }

    /**
     * After a correction took rewards off the card (told after the card row was saved), voids the card's
     * newest unexpired reward vouchers until there are no more of them than rewards available. Else a
     * voucher would stand for a reward the card no longer has (undo of a later stamp whose voucher was
     * redeemed; an adjustment for a reward handed over offline) and one reward could be spent twice.
     */
    private static void fitToCard(SinkStore.Tx tx, LedgerEntry line) throws SQLException {
        Optional<StoredCard> card = tx.lockCard(line.cardId());
        if (card.isEmpty()) {
            return;
        }
        List<Voucher> open = VoucherStore.unexpiredRewardsNewestFirst(tx, line.cardId(), line.recordedAt());
        int excess = open.size() - Math.max(0, card.get().balance().rewardsAvailable());
        for (int i = 0; i < excess; i++) {
            voidVoucher(tx, open.get(i), line);
        }
    }

    private static void voidVoucher(SinkStore.Tx tx, Voucher v, LedgerEntry line) throws SQLException {
        VoucherStore.expire(tx, v.code(), line.recordedAt());
        VoucherStore.ledger(tx, v, LedgerType.VOUCHER_VOIDED, 0, line.eventId(), null, line.recordedAt(),
                line.recordedAt(), line.type().name(), line.actor());
    }

    private void issueReward(SinkStore.Tx tx, LedgerEntry line) throws SQLException {
        VoucherPlan plan = plans.getOrDefault(line.programId(), new VoucherPlan(DEFAULT_TITLE, VoucherPlan.DEFAULT_VALIDITY));
        Instant now = line.recordedAt();
        Instant until = plan.validity().isZero() ? null : now.plus(plan.validity());
        VoucherCode code = VoucherCode.random(random);
        Optional<String> posCode = pool.take(tx, code.text(), now);
        Voucher v = new Voucher(code, plan.title(), VoucherOrigin.REWARD, line.cardId(), line.programId(), null, now, until,
                posCode.orElse(null), now, line.actor(), null, line.eventId(), null, null, null);
        VoucherStore.insert(tx, v);
        VoucherStore.ledger(tx, v, LedgerType.VOUCHER_ISSUED, 0, line.eventId(), line.location(), now, now, "REWARD",
                line.actor());
        boolean withPosCode = posCode.isPresent();
        // Inside the ingest's batch transaction, which may roll back or be retried: count what stayed.
        tx.afterCommit(() -> metrics.countIssued(withPosCode, pool.configured()));
    }

    /**
     * Issues a goodwill voucher in its own transaction.
     *
     * @throws Refused when the card is unknown or the validity window is empty
     */
    public Voucher goodwill(Goodwill g) {
        Instant now = clock.instant();
        Instant from = g.validFrom() == null ? now : g.validFrom();
        Instant until = g.validity() == null || g.validity().isZero() ? null : from.plus(g.validity());
        if (until != null && !until.isAfter(now)) {
            throw new Refused("the voucher would have expired at " + until + " before it was issued; choose a later "
                    + "start or a longer validity");
        }
        Voucher v = store.transaction(tx -> {
            String programId = null;
            if (g.cardId() != null) {
                Optional<StoredCard> card = tx.card(g.cardId());
                if (card.isEmpty()) {
                    throw new Refused("card " + g.cardId() + " has no stamps yet, so the sink does not know it; issue "
                            + "a free-standing voucher (without a card) instead");
                }
                programId = card.get().programId();
            }
            VoucherCode code = VoucherCode.random(random);
            Optional<String> posCode = pool.take(tx, code.text(), now);
            Voucher issued = new Voucher(code, g.title(), VoucherOrigin.GOODWILL, g.cardId(), programId, g.location(), from,
                    until, posCode.orElse(null), now, "operator:" + g.operator(), g.reason(), null, null, null, null);
            VoucherStore.insert(tx, issued);
            VoucherStore.ledger(tx, issued, LedgerType.VOUCHER_ISSUED, 0, null, g.location(), now, now, "GOODWILL",
                    "operator:" + g.operator());
            boolean withPosCode = posCode.isPresent();
            tx.afterCommit(() -> metrics.countIssued(withPosCode, pool.configured()));
            return issued;
        });
        Logger.info("goodwill voucher {} '{}' issued by {} ({}){}; valid {} .. {}", v.code(), v.title(), g.operator(),
                g.reason(), v.cardId() == null ? "" : " for card " + v.cardId(), v.validFrom(),
                v.validUntil() == null ? "no end" : v.validUntil());
        return v;
    }
}
