package app.sevenstamp.autopilot.sink.voucher;

import app.sevenstamp.autopilot.protocol.card.CardCheck;
import app.sevenstamp.autopilot.protocol.card.CardCode;
import app.sevenstamp.autopilot.protocol.card.CardVerifier;
import app.sevenstamp.autopilot.protocol.voucher.VoucherCode;
import app.sevenstamp.autopilot.sink.config.VoucherPlan;
import app.sevenstamp.autopilot.sink.loyalty.CardBalance;
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
import java.util.Set;
import java.util.TreeSet;
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
 * <p>A goodwill voucher for a card the sink has no row of yet (a new wallet card, never stamped) needs the
 * card's full scanned code: verified with the sink's card key and checked against its programs, it proves the
 * card exists, and the card row is created with 0 stamps in the voucher's transaction. The first stamp then
 * finds that row like any other. A bare card id proves nothing (anyone can type one), so it is refused.
 *
 * <p>Thread-safe (no mutable state besides the random source, which is thread-safe).
 */
public final class VoucherIssuer implements LedgerHook {
    /** The title of a reward voucher for a program without {@code program.<id>.voucherTitle}. */
    static final String DEFAULT_TITLE = "Reward";

    /**
     * An operator's one-time voucher.
     *
     * @param cardId   the card it is bound to, which the sink must know already (null for none or with cardCode)
     * @param cardCode the card's full scanned code ({@code 7S1....}): binds the voucher to that card and creates
     *                 the card with 0 stamps if the sink has no row of it yet; null for none
     */
    public record Goodwill(String title, String cardId, Duration validity, Instant validFrom, String location,
            String reason, String operator, String cardCode) {
        public Goodwill {
            Objects.requireNonNull(title, "title");
            Objects.requireNonNull(reason, "reason");
            Objects.requireNonNull(operator, "operator");
        }

        /** Without a card code. */
        public Goodwill(String title, String cardId, Duration validity, Instant validFrom, String location,
                String reason, String operator) {
            this(title, cardId, validity, validFrom, location, reason, operator, null);
        }
    }

    /** A goodwill voucher that cannot be issued, with why (for a 4xx answer or exit status). */
    public static final class Refused extends RuntimeException {
        private static final long serialVersionUID = 1L;

        Refused(String message) {
            super(message);
        }
    }

    /** How far from now a goodwill voucher may start, either way: the longest validity the API and CLI take. */
    public static final Duration MAX_START_DISTANCE = Duration.ofDays(3650);

    private final SinkStore store;
    private final PosCodePool pool;
    private final Map<String, VoucherPlan> plans;
    private final VoucherMetrics metrics;
    private final Clock clock;
    private final SecureRandom random;
    private final CardVerifier cards;
    private final Set<String> programIds;
    private final LedgerHook goodwillLines;



    /** @param goodwillLines told of a goodwill voucher's line, in its transaction (wallet pass updates) */
    public VoucherIssuer(SinkStore store, PosCodePool pool, Map<String, VoucherPlan> plans, VoucherMetrics metrics,
            Clock clock, SecureRandom random, CardVerifier cards, Set<String> programIds, LedgerHook goodwillLines) {
        this.goodwillLines = Objects.requireNonNull(goodwillLines, "goodwillLines");
        this.cards = Objects.requireNonNull(cards, "cards");
        this.programIds = Set.copyOf(programIds);
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

    /**
     * Voids a goodwill voucher that was not used yet (given by mistake, to the wrong card). A reward
     * voucher is not voided here: it stands for a reward on the card, so the card's rewards are adjusted
     * instead, which voids the voucher with them.
     *
     * @throws Refused an unknown code, a reward voucher, or one already redeemed or expired
     */
    public Voucher voidGoodwill(VoucherCode code, String operator) {
        Instant now = clock.instant();
        return store.transaction(tx -> {
            Voucher v = VoucherStore.find(tx, code, true).orElseThrow(() -> new Refused("no voucher has the code " + code));
            if (v.origin() != VoucherOrigin.GOODWILL) {
                throw new Refused("voucher " + code + " is a card's reward; adjust the card's rewards instead, which voids it");
            }
            VoucherState state = v.state(now);
            if (state == VoucherState.REDEEMED || state == VoucherState.EXPIRED) {
                throw new Refused("voucher " + code + " is " + state.name().toLowerCase(java.util.Locale.ROOT) + " already");
            }
            VoucherStore.expire(tx, code, now);
            VoucherStore.ledger(tx, v, LedgerType.VOUCHER_VOIDED, 0, null, null, now, now, "OPERATOR", "operator:" + operator);
            return v;
        });
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
     * Issues a goodwill voucher in its own transaction. With a card code whose card the sink does not know yet,
     * the card is created with 0 stamps in the same transaction.
     *
     * @throws Refused when the card is unknown (without a code), the card code does not verify or names a
     *                 program this sink does not run, the validity window is empty, or the start is more than
     *                 {@link #MAX_START_DISTANCE} from now
     */
    public Voucher goodwill(Goodwill g) {
        Instant now = clock.instant();
        Instant from = g.validFrom() == null ? now : g.validFrom();
        // Before from + validity: a start the API parses (up to the year 1000000000) overflowed it, and one beyond
        // what the database keeps failed there, answered as "store unavailable, retry" (found by GoodwillBodyFuzzTest).
        if (from.isAfter(now.plus(MAX_START_DISTANCE)) || from.isBefore(now.minus(MAX_START_DISTANCE))) {
            throw new Refused("the voucher would start at " + from + ", more than " + MAX_START_DISTANCE.toDays()
                    + " days from now (" + now + "); choose a start within that");
        }
        Instant until = g.validity() == null || g.validity().isZero() ? null : from.plus(g.validity());
        if (until != null && !until.isAfter(now)) {
            throw new Refused("the voucher would have expired at " + until + " before it was issued; choose a later "
                    + "start or a longer validity");
        }
        CardCode scanned = g.cardCode() == null ? null : verified(g.cardCode(), g.cardId());
        String cardId = scanned != null ? scanned.cardId() : g.cardId();
        boolean[] created = new boolean[1];
        Voucher v = store.transaction(tx -> {
            created[0] = false; // a retried attempt starts over
            String programId = null;
            if (cardId != null) {
                // Locked: the ingest may be creating the same card right now; a race over the new row is retried.
                Optional<StoredCard> card = tx.lockCard(cardId);
                if (card.isEmpty() && scanned == null) {
                    throw new Refused("card " + cardId + " has no stamps yet, so the sink does not know it; give the "
                            + "card's full scanned code instead (the text of its barcode, 7S1.<key>.<program>.<card>."
                            + "<signature>: 'cardCode' in the API, --card-code on the command line), which the sink "
                            + "verifies and then creates the card with 0 stamps, or issue a free-standing voucher "
                            + "(without a card)");
                }
                if (card.isEmpty()) {
                    tx.saveCard(new StoredCard(cardId, scanned.programId(), CardBalance.EMPTY, null, now), true);
                    created[0] = true;
                    programId = scanned.programId();
                } else {
                    programId = card.get().programId();
                    if (scanned != null && !programId.equals(scanned.programId())) {
                        throw new Refused("card " + cardId + " is stored under program '" + programId + "' but its code "
                                + "names program '" + scanned.programId() + "'; check the card before issuing");
                    }
                }
            }
            VoucherCode code = VoucherCode.random(random);
            Optional<String> posCode = pool.take(tx, code.text(), now);
            Voucher issued = new Voucher(code, g.title(), VoucherOrigin.GOODWILL, cardId, programId, g.location(), from,
                    until, posCode.orElse(null), now, "operator:" + g.operator(), g.reason(), null, null, null, null);
            VoucherStore.insert(tx, issued);
            VoucherStore.ledger(tx, issued, LedgerType.VOUCHER_ISSUED, 0, null, g.location(), now, now, "GOODWILL",
                    "operator:" + g.operator());
            VoucherStore.tell(goodwillLines, tx, issued, LedgerType.VOUCHER_ISSUED, 0, null, now, "operator:" + g.operator());
            boolean withPosCode = posCode.isPresent();
            tx.afterCommit(() -> metrics.countIssued(withPosCode, pool.configured()));
            return issued;
        });
        if (created[0]) {
            Logger.info("card {} of program {} created with 0 stamps for a goodwill voucher (its code verified)",
                    v.cardId(), v.programId());
        }
        Logger.info("goodwill voucher {} '{}' issued by {} ({}){}; valid {} .. {}", v.code(), v.title(), g.operator(),
                g.reason(), v.cardId() == null ? "" : " for card " + v.cardId(), v.validFrom(),
                v.validUntil() == null ? "no end" : v.validUntil());
        return v;
    }

    /** The card of a scanned code, checked as the ingest checks a stamp's; else refused with why. */
    private CardCode verified(String cardCode, String cardId) {
        CardCheck check = cards.verify(cardCode.strip());
        if (check instanceof CardCheck.Invalid bad) {
            throw new Refused("the card code is not a valid card of this sink (" + bad.reason() + ": " + bad.detail()
                    + "); scan the customer's wallet card again, or issue a free-standing voucher");
        }
        CardCode card = ((CardCheck.Valid) check).card();
        if (cardId != null && !cardId.equals(card.cardId())) {
            throw new Refused("cardId " + cardId + " is not the card of the card code (" + card.cardId()
                    + "); give only the card code");
        }
        if (!programIds.contains(card.programId())) {
            throw new Refused("card " + card.cardId() + " is of program '" + card.programId() + "', which this sink "
                    + "does not run (configured: " + String.join(", ", new TreeSet<>(programIds)) + ")");
        }
        return card;
    }
}
