package app.sevenstamp.autopilot.sink.wallet;

import app.sevenstamp.autopilot.sink.loyalty.Program;
import app.sevenstamp.autopilot.sink.store.SinkStore;
import app.sevenstamp.autopilot.sink.store.StoredCard;
import app.sevenstamp.autopilot.sink.voucher.Voucher;
import app.sevenstamp.autopilot.sink.voucher.VoucherState;
import app.sevenstamp.autopilot.sink.voucher.VoucherStore;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * Reads a card as its passes show it: the card row, its program, its active vouchers (title, code and
 * end date: what the card page shows too, never the till code). Thread-safe.
 */
public final class CardStates {
    private final SinkStore store;
    private final Map<String, Program> programs;
    private final VoucherStore vouchers;
    private final Clock clock;

    public CardStates(SinkStore store, Map<String, Program> programs, VoucherStore vouchers, Clock clock) {
        this.store = store;
        this.programs = java.util.Objects.requireNonNull(programs, "programs"); // not copied: the console's live view (ProgramBook)
        this.vouchers = vouchers;
        this.clock = clock;
    }

    /** The card; {@code programId} is used for a card without a row yet (issued, never stamped). */
    public CardState load(String cardId, String programId) {
        Optional<StoredCard> card = store.card(cardId);
        String pid = card.map(StoredCard::programId).orElse(programId);
        Program p = programs.get(pid);
        Instant now = clock.instant();
        List<String> lines = new ArrayList<>();
        for (Voucher v : vouchers.byCard(cardId)) {
            if (v.state(now) == VoucherState.ACTIVE) {
                lines.add(v.title() + ", code " + v.code().text()
                        + (v.validUntil() == null ? "" : ", until " + v.validUntil().toString().substring(0, 10)));
            }
        }
        return new CardState(cardId, pid, p == null ? pid : p.name(),
                card.map(c -> c.balance().stamps()).orElse(0), p == null ? 0 : p.stampsRequired(),
                card.map(c -> c.balance().rewardsAvailable()).orElse(0), lines);
    }

    public Optional<Program> program(String programId) {
        return Optional.ofNullable(programs.get(programId));
    }
}
