package app.sevenstamp.autopilot.protocol.support;

/**
 * A configuration value that cannot be used. The message names the key, the value and what is
 * allowed, and is printed as is to the operator: {@code scanner.baud: 'fast' is not a whole number; allowed 1200..921600}.
 */
public final class ConfigException extends RuntimeException {
    public ConfigException(String message) {
        super(message);
    }

    public ConfigException(String message, Throwable cause) {
        super(message, cause);
    }
}
