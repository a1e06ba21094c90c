package app.sevenstamp.autopilot.gateway.policy;

import app.sevenstamp.autopilot.protocol.RejectReason;
import app.sevenstamp.autopilot.protocol.card.CardCode;
import java.util.Objects;

/** What the gateway does with one scan. */
public sealed interface Decision {

    /** Stamp it. @param code the scanned text, verbatim, for the sink to verify again */
    record Accept(CardCode card, String code) implements Decision {
        public Accept {
            Objects.requireNonNull(card, "card");
            Objects.requireNonNull(code, "code");
        }
    }

    /**
     * Refuse it.
     *
     * @param detail  a sentence for the log and the feedback; never the whole scanned text
     * @param excerpt the start of the scanned text, escaped, for the log
     */
    record Reject(RejectReason reason, String detail, String excerpt) implements Decision {
        public Reject {
            Objects.requireNonNull(reason, "reason");
            Objects.requireNonNull(detail, "detail");
            Objects.requireNonNull(excerpt, "excerpt");
        }
    }
}
