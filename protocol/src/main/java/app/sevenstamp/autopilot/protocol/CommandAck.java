package app.sevenstamp.autopilot.protocol;

import java.util.Objects;

/**
 * A gateway's answer to one {@link DeviceCommand}, on {@code PREFIX/gw/{id}/cmdack}.
 *
 * @param schema    wire schema version
 * @param commandId the command it answers
 * @param deviceId  the gateway
 * @param command   the command's name, for logs
 * @param ok        whether the command did what it says
 * @param result    a human-readable result or why it failed
 */
public record CommandAck(int schema, String commandId, String deviceId, String command, boolean ok, String result) {

    public CommandAck {
        Objects.requireNonNull(commandId, "commandId");
        Objects.requireNonNull(deviceId, "deviceId");
        Objects.requireNonNull(command, "command");
    }
}
