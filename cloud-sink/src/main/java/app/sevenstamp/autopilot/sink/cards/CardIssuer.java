package app.sevenstamp.autopilot.sink.cards;

import app.sevenstamp.autopilot.protocol.card.CardSigner;
import app.sevenstamp.autopilot.sink.loyalty.Program;
import java.security.SecureRandom;
import java.util.Objects;

/**
 * Mints card codes. No database involved: a code is self-authenticating, and the card gets its
 * row when its first stamp arrives. Thread-safe.
 */
public final class CardIssuer {
    private final CardSigner signer;
    private final SecureRandom random;

    public CardIssuer(CardSigner signer, SecureRandom random) {
        this.signer = Objects.requireNonNull(signer, "signer");
        this.random = Objects.requireNonNull(random, "random");
    }

    /** A new card of the program: the text to put into the wallet pass's barcode. */
    public String issue(Program program) {
        return signer.sign(program.id(), CardSigner.newCardId(random));
    }
}
