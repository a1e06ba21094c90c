package app.sevenstamp.autopilot.gateway.feedback;

/** The box's physical outputs. */
public enum Output {
    GREEN,
    RED,
    /** An active buzzer: on is sound, on a plain digital output (no PWM, which differs between Pi 4 and 5). */
    BUZZER
}
