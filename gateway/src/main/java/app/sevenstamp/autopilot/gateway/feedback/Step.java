package app.sevenstamp.autopilot.gateway.feedback;

import java.time.Duration;
import java.util.Objects;

/**
 * A light and a tone for a while. {@code toneHz} 0 is silence; an active buzzer sounds for any other value
 * (at its own fixed pitch), a passive buzzer plays that frequency.
 */
record Step(Light light, int toneHz, Duration duration) {
    /** Passive buzzers are quiet and shrill outside this range. */
    public static final int MIN_TONE_HZ = 200;
    public static final int MAX_TONE_HZ = 6000;

    public Step {
        Objects.requireNonNull(light, "light");
        Objects.requireNonNull(duration, "duration");
        if (duration.isNegative() || duration.isZero()) {
            throw new IllegalArgumentException("a step lasts a positive time, was " + duration);
        }
        if (toneHz != 0 && (toneHz < MIN_TONE_HZ || toneHz > MAX_TONE_HZ)) {
            throw new IllegalArgumentException("a tone is 0 (silent) or " + MIN_TONE_HZ + ".." + MAX_TONE_HZ
                    + " Hz, was " + toneHz);
        }
    }

    /** Light with a tone. */
    public static Step of(long millis, Light light, int toneHz) {
        return new Step(light, toneHz, Duration.ofMillis(millis));
    }

    /** Light only, silent. */
    public static Step of(long millis, Light light) {
        return of(millis, light, 0);
    }

    public boolean sounding() {
        return toneHz != 0;
    }
}
