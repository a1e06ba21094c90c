package app.sevenstamp.autopilot.protocol;

import java.util.Objects;

/**
 * A remote command on {@code PREFIX/gw/{id}/cmd} (QoS 1, not retained: a command is for now or never).
 *
 * @param schema    wire schema version
 * @param commandId unique; the {@link CommandAck} names it
 * @param deviceId  the gateway
 * @param command   {@code identify}, {@code restart}, {@code flush}, {@code log-level}, {@code self-test};
 *                  a gateway answers an unknown one with ok=false
 * @param argument  e.g. the level for {@code log-level}; null when the command takes none
 * @param issuedAt  when the sink sent it; a gateway ignores commands older than a few minutes
 */
public record DeviceCommand(int schema, String commandId, String deviceId, String command, String argument,
        java.time.Instant issuedAt) {

    public DeviceCommand {
        Objects.requireNonNull(commandId, "commandId");
        Objects.requireNonNull(deviceId, "deviceId");
        Objects.requireNonNull(command, "command");
    }
}
