package app.sevenstamp.autopilot.sink.wallet;

import java.util.List;
import java.util.Objects;

/**
 * What a wallet pass shows of a card, read after a change committed. A card whose code was issued
 * but that has no stamps yet has no row: it is shown with zero of everything.
 *
 * @param vouchers the active vouchers, one line each for the customer ("Free coffee, code ABCD-1234, until 2027-03-01")
 */
public record CardState(String cardId, String programId, String programName, int stamps, int stampsRequired,
        int rewardsAvailable, List<String> vouchers) {
    public CardState {
        Objects.requireNonNull(cardId, "cardId");
        Objects.requireNonNull(programId, "programId");
        Objects.requireNonNull(programName, "programName");
        vouchers = List.copyOf(vouchers);
    }
}
