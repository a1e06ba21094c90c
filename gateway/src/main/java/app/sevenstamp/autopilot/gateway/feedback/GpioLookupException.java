package app.sevenstamp.autopilot.gateway.feedback;

/** The header's gpiochip or the buzzer's PWM chip cannot be found; the message names what was found and the key to set. */
public final class GpioLookupException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    public GpioLookupException(String message) {
        super(message);
    }
}
