package app.sevenstamp.autopilot.gateway.policy;

import app.sevenstamp.autopilot.gateway.scan.Frame;
import app.sevenstamp.autopilot.gateway.support.Excerpt;
import app.sevenstamp.autopilot.protocol.RejectReason;
import app.sevenstamp.autopilot.protocol.card.CardCheck;
import app.sevenstamp.autopilot.protocol.card.CardVerifier;
import java.util.Objects;
import java.util.Set;
import java.util.TreeSet;

/**
 * Decides offline whether a scan is a stamp: the card code's signature must verify against a trusted
 * key, and its program must be one this counter runs. Immutable and thread-safe; pure, so it never
 * throws for anything a scanner can send.
 *
 * <p>Double reads are the debouncer's ({@code scan/Debouncer}); the sink's per-card cooldown and daily
 * cap, which need this counter's history, are {@link CounterGuard}'s, checked after this policy accepts.
 */
public final class ScanPolicy {
    private final CardVerifier verifier;
    private final Set<String> programs;

    /** @param programs allowed program ids; empty allows every program signed by a trusted key */
    public ScanPolicy(CardVerifier verifier, Set<String> programs) {
        this.verifier = Objects.requireNonNull(verifier, "verifier");
        this.programs = Set.copyOf(programs);
    }

    public Decision decide(Frame frame) {
        if (frame instanceof Frame.Overlong overlong) {
            return new Decision.Reject(RejectReason.MALFORMED, "scan of " + overlong.bytes()
                    + " bytes is longer than scanner.maxLength (" + overlong.maxLength() + ")", "(discarded)");
        }
        String text = ((Frame.Text) frame).text();
        CardCheck check = verifier.verify(text);
        if (check instanceof CardCheck.Invalid invalid) {
            return new Decision.Reject(invalid.reason(), invalid.detail(), Excerpt.of(text));
        }
        CardCheck.Valid valid = (CardCheck.Valid) check;
        String program = valid.card().programId();
        if (!programs.isEmpty() && !programs.contains(program)) {
            return new Decision.Reject(RejectReason.UNKNOWN_PROGRAM, "card " + valid.card().cardId()
                    + " is of program '" + program + "', this counter runs " + String.join(", ", new TreeSet<>(programs))
                    + " (cards.programs)", Excerpt.of(text));
        }
        return new Decision.Accept(valid.card(), text);
    }
}
