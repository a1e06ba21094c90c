package app.sevenstamp.autopilot.gateway.feedback;

import java.time.Duration;
import java.util.List;
import java.util.Objects;

/**
 * Plays patterns on the outputs, driven by the caller's clock: {@link #start} or {@link #loop} at a time,
 * then {@link #advance} whenever the time returned by the previous call has come. Pure timing logic with no
 * thread and no sleep, so tests step through a pattern in virtual time.
 *
 * <p>Two layers: a one-shot pattern (a scan's outcome) in front, and a looping one (identify) behind it that
 * shows whenever no one-shot pattern plays, until its deadline. The loop keeps its phase while hidden, so it
 * resumes in step with the blinking it would have shown. Outputs are written only when what they show changes.
 *
 * <p>Not thread-safe: one thread drives it (the {@code feedback} thread in production).
 */
final class PatternPlayer {
    /** What {@link #advance} returns when nothing is playing. */
    public static final long IDLE = Long.MAX_VALUE;

    private final Outputs outputs;
    // one-shot
    private Pattern pattern;
    private int step;
    private long stepEndsAt;
    // loop
    private Pattern loop;
    private long loopStart;
    private long loopEnd;
    private long loopCycle;
    // what the outputs show now
    private Light shownLight = Light.OFF;
    private int shownTone;

    public PatternPlayer(Outputs outputs) {
        this.outputs = Objects.requireNonNull(outputs, "outputs");
    }

    /** Starts {@code next} now, cutting off the one-shot pattern that was playing. */
    public void start(Pattern next, long nowNanos) {
        pattern = Objects.requireNonNull(next, "next");
        step = 0;
        stepEndsAt = nowNanos + next.steps().get(0).duration().toNanos();
        show(next.steps().get(0).light(), next.steps().get(0).toneHz());
    }

    /** Repeats {@code cycle} from now for {@code limit}, behind any one-shot pattern; replaces an earlier loop. */
    public void loop(Pattern cycle, Duration limit, long nowNanos) {
        loop = Objects.requireNonNull(cycle, "cycle");
        loopStart = nowNanos;
        loopEnd = nowNanos + limit.toNanos();
        loopCycle = cycle.duration().toNanos();
        if (pattern == null) {
            advance(nowNanos);
        }
    }

    /** Ends the loop now; a one-shot pattern in front plays on. */
    public void stopLoop(long nowNanos) {
        loop = null;
        if (pattern == null) {
            advance(nowNanos);
        }
    }

    /**
     * Moves to what is due at {@code nowNanos}; all off when nothing is left.
     *
     * @return when to call again, or {@link #IDLE}
     */
    public long advance(long nowNanos) {
        if (pattern != null) {
            List<Step> steps = pattern.steps();
            while (nowNanos - stepEndsAt >= 0) {
                step++;
                if (step == steps.size()) {
                    pattern = null;
                    break;
                }
                // the next step starts when the last one was due, not when we got round to it: no drift
                stepEndsAt += steps.get(step).duration().toNanos();
            }
            if (pattern != null) {
                show(steps.get(step).light(), steps.get(step).toneHz());
                return stepEndsAt;
            }
        }
        if (loop != null && nowNanos - loopEnd < 0) {
            long into = (nowNanos - loopStart) % loopCycle;
            long stepStart = nowNanos - into;
            for (Step s : loop.steps()) {
                long ends = stepStart + s.duration().toNanos();
                if (nowNanos - ends < 0) {
                    show(s.light(), s.toneHz());
                    return ends - loopEnd < 0 ? ends : loopEnd;
                }
                stepStart = ends;
            }
        }
        loop = null;
        show(Light.OFF, 0);
        return IDLE;
    }

    /** Stops everything and turns all outputs off. */
    public void stop() {
        pattern = null;
        loop = null;
        show(Light.OFF, 0);
    }

    public boolean playing() {
        return pattern != null || loop != null;
    }

    public boolean looping() {
        return loop != null;
    }

    private void show(Light light, int toneHz) {
        if (light != shownLight || toneHz != shownTone) {
            outputs.show(light, toneHz);
            shownLight = light;
            shownTone = toneHz;
        }
    }
}
