package app.sevenstamp.autopilot.sink.wallet;

import app.sevenstamp.autopilot.sink.loyalty.Program;
import app.sevenstamp.autopilot.sink.store.SinkStore;
import app.sevenstamp.autopilot.sink.store.StoredCard;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.Function;

/** Reads a card as its passes show it: the card row, its program, its active vouchers. Thread-safe. */
public final class CardStates {
    private final SinkStore store;
    private final Map<String, Program> programs;
    private final Function<String, List<Map<String, Object>>> vouchers;

    /** @param vouchers card id -> the customer's view of its vouchers (as the card JSON shows them) */
    public CardStates(SinkStore store, Map<String, Program> programs, Function<String, List<Map<String, Object>>> vouchers) {
        this.store = store;
        this.programs = Map.copyOf(programs);
        this.vouchers = vouchers;
    }

    /** The card; {@code programId} is used for a card without a row yet (issued, never stamped). */
    public CardState load(String cardId, String programId) {
        Optional<StoredCard> card = store.card(cardId);
        String pid = card.map(StoredCard::programId).orElse(programId);
        Program p = programs.get(pid);
        List<String> lines = new ArrayList<>();
        for (Map<String, Object> v : vouchers.apply(cardId)) {
            if ("ACTIVE".equals(v.get("state"))) {
                Object until = v.get("validUntil");
                lines.add(v.get("title") + ", code " + v.get("code")
                        + (until == null ? "" : ", until " + until.toString().substring(0, Math.min(10, until.toString().length()))));
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
