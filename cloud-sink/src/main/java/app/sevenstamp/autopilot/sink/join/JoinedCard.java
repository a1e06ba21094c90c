package app.sevenstamp.autopilot.sink.join;

import java.time.Instant;
import java.util.Objects;

/**
 * A card issued on the join page, as stored: its code (what the box verifies offline and the web card
 * shows as a QR code) and what the customer chose to give. Name, e-mail and consent are null unless the
 * program asked and the customer gave them.
 */
public record JoinedCard(String cardId, String programId, String cardCode, Instant joinedAt, String name,
        String email, String consentText, Instant consentAt) {
    public JoinedCard {
        Objects.requireNonNull(cardId, "cardId");
        Objects.requireNonNull(programId, "programId");
        Objects.requireNonNull(cardCode, "cardCode");
        Objects.requireNonNull(joinedAt, "joinedAt");
    }

    /** Never prints the code, the name or the e-mail address. */
    @Override
    public String toString() {
        return "JoinedCard[" + cardId + ", program " + programId + ", joined " + joinedAt
                + (name != null || email != null ? ", with contact details" : "") + "]";
    }
}
