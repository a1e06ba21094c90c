package app.sevenstamp.autopilot.sink.wallet.google;

import app.sevenstamp.autopilot.protocol.card.CardCode;
import java.util.Objects;

/**
 * What a Google pass shows of a card: this channel's own, minimal view, so that it depends on
 * nothing of the store; the caller builds it from its card row and program.
 *
 * @param cardCode the signed card code, the pass's QR barcode (what the box scans)
 */
record CardState(String cardId, String programId, String programName, int stamps, int stampsRequired,
        int rewardsAvailable, String cardCode) {
    public CardState {
        check(cardId, CardCode.CARD_ID.matcher(Objects.requireNonNull(cardId, "cardId")).matches(), "cardId");
        check(programId, CardCode.PROGRAM_ID.matcher(Objects.requireNonNull(programId, "programId")).matches(), "programId");
        Objects.requireNonNull(programName, "programName");
        Objects.requireNonNull(cardCode, "cardCode");
        if (stampsRequired < 1 || stamps < 0 || stamps > stampsRequired || rewardsAvailable < 0) {
            throw new IllegalArgumentException("card " + cardId + ": stamps " + stamps + " of " + stampsRequired
                    + " and rewards " + rewardsAvailable + " are not a card's balance (0 <= stamps <= required, rewards >= 0)");
        }
        if (cardCode.isEmpty() || cardCode.length() > CardCode.MAX_LENGTH) {
            throw new IllegalArgumentException("card " + cardId + ": a card code has 1.." + CardCode.MAX_LENGTH + " characters");
        }
    }

    private static void check(String value, boolean ok, String what) {
        if (!ok) {
            throw new IllegalArgumentException("'" + value + "' is not a " + what);
        }
    }

    /** The pass's stamp line, {@code "3 / 10"}. */
    public String stampsText() {
        return stamps + " / " + stampsRequired;
    }
}
