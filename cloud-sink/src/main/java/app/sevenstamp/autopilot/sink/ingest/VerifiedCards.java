package app.sevenstamp.autopilot.sink.ingest;

import app.sevenstamp.autopilot.protocol.card.CardCheck;
import app.sevenstamp.autopilot.protocol.card.CardVerifier;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;

/**
 * The sink's card check with a memory of card codes it found valid. An Ed25519 verification costs
 * about a millisecond of CPU in the JDK's own implementation (JFR of the ingest bench: 60 % of the
 * ingest thread's samples; the sink now verifies with Bouncy Castle's, a quarter of that, see
 * {@code BcSignatureCheck}), while a customer's card comes back visit after visit. The verifier's
 * keys are fixed for the life of the process, so a code that verified once verifies again: the
 * answer is remembered for the exact code text. Only valid codes are kept (invalid ones are
 * rejected cheaply or come from a tampered card, and must not push the regulars out); at most
 * {@code capacity} codes, the least recently used leave first.
 *
 * <p>Thread-safe: the ingest thread and the POS route's HTTP threads share it. The lock covers
 * the map only, never a verification.
 */
final class VerifiedCards {
    static final int DEFAULT_CAPACITY = 20_000;

    private final CardVerifier verifier;
    private final Map<String, CardCheck.Valid> valid;

    VerifiedCards(CardVerifier verifier, int capacity) {
        this.verifier = Objects.requireNonNull(verifier, "verifier");
        if (capacity < 1) {
            throw new IllegalArgumentException("capacity must be at least 1, was " + capacity);
        }
        this.valid = new LinkedHashMap<>(16, 0.75f, true) {
            @Override
            protected boolean removeEldestEntry(Map.Entry<String, CardCheck.Valid> eldest) {
                return size() > capacity;
            }
        };
    }

    CardCheck verify(String code) {
        if (code == null) {
            return verifier.verify(null);
        }
        synchronized (valid) {
            CardCheck.Valid known = valid.get(code);
            if (known != null) {
                return known;
            }
        }
        CardCheck check = verifier.verify(code);
        if (check instanceof CardCheck.Valid ok) {
            synchronized (valid) {
                valid.put(code, ok);
            }
        }
        return check;
    }

    int size() {
        synchronized (valid) {
            return valid.size();
        }
    }
}
