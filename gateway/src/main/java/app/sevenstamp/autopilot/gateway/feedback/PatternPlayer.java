package app.sevenstamp.autopilot.gateway.feedback;

import java.util.Objects;
import java.util.Set;

/**
 * Plays one pattern at a time on the outputs, driven by the caller's clock: {@link #start} at a time,
 * then {@link #advance} whenever the time returned by the previous call has come. Pure timing logic with
 * no thread and no sleep, so tests step through a pattern in virtual time.
 *
 * <p>Not thread-safe: one thread drives it (the {@code feedback} thread in production).
 */
public final class PatternPlayer {
    /** What {@link #advance} returns when nothing is playing. */
    public static final long IDLE = Long.MAX_VALUE;

    private final Outputs outputs;
    private Pattern pattern;
    private int step;
    private long stepEndsAt;

    public PatternPlayer(Outputs outputs) {
        this.outputs = Objects.requireNonNull(outputs, "outputs");
    }

    /** Starts {@code next} now, cutting off whatever was playing. */
    public void start(Pattern next, long nowNanos) {
        pattern = Objects.requireNonNull(next, "next");
        step = 0;
        stepEndsAt = nowNanos + next.steps().get(0).duration().toNanos();
        outputs.apply(next.steps().get(0).on());
    }

    /**
     * Moves to the step that is due at {@code nowNanos}; all off after the last.
     *
     * @return when to call again, or {@link #IDLE}
     */
    public long advance(long nowNanos) {
        if (pattern == null) {
            return IDLE;
        }
        boolean changed = false;
        while (nowNanos - stepEndsAt >= 0) {
            step++;
            changed = true;
            if (step == pattern.steps().size()) {
                pattern = null;
                outputs.apply(Set.of());
                return IDLE;
            }
            // the next step starts when the last one was due, not when we got round to it: no drift
            stepEndsAt += pattern.steps().get(step).duration().toNanos();
        }
        if (changed) {
            outputs.apply(pattern.steps().get(step).on());
        }
        return stepEndsAt;
    }

    /** Stops the pattern and turns everything off. */
    public void stop() {
        pattern = null;
        outputs.apply(Set.of());
    }

    public boolean playing() {
        return pattern != null;
    }
}
