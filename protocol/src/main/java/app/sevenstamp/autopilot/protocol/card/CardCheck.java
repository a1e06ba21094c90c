package app.sevenstamp.autopilot.protocol.card;

import app.sevenstamp.autopilot.protocol.RejectReason;
import java.util.Objects;

/** The result of checking a scanned text: a verified card, or exactly why not. */
public sealed interface CardCheck {

    record Valid(CardCode card) implements CardCheck {
        public Valid {
            Objects.requireNonNull(card, "card");
        }
    }

    /** @param detail a log-friendly sentence; never contains the full scanned text */
    record Invalid(RejectReason reason, String detail) implements CardCheck {
        public Invalid {
            Objects.requireNonNull(reason, "reason");
            Objects.requireNonNull(detail, "detail");
        }
    }
}
