package app.sevenstamp.autopilot.sink.fleet;

import app.sevenstamp.autopilot.protocol.DesiredConfig;
import app.sevenstamp.autopilot.protocol.DeviceCommand;
import app.sevenstamp.autopilot.protocol.Topics;
import app.sevenstamp.autopilot.protocol.WireCodec;
import app.sevenstamp.autopilot.sink.fleet.FleetRegistry.Device;
import java.time.Clock;
import java.time.Instant;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.UUID;

/**
 * What an operator tells a provisioned box: its desired configuration (retained, so an offline box gets it
 * when it returns) and commands (QoS 1, not retained), each recorded in the registry. Called on the HTTP and
 * CLI threads and, for the config of a box just provisioned, on the fleet thread; it keeps no state of its own.
 */
final class DeviceControl {
    /** Keys a sink may set on a gateway remotely; the gateway validates the values. */
    static final Set<String> REMOTE_KEYS = Set.of("cards.programs", "cards.trustedKeys", "fleet.heartbeat",
            "log.level", "mqtt.keepAlive", "feedback.type");
    /** Commands the gateways understand. */
    static final Set<String> COMMANDS = Set.of("identify", "restart", "flush", "log-level", "self-test");

    private final FleetRegistry registry;
    private final Topics topics;
    private final FleetPublisher publisher;
    private final Clock clock;
    private final WireCodec codec = new WireCodec();

    DeviceControl(FleetRegistry registry, Topics topics, FleetPublisher publisher, Clock clock) {
        this.registry = registry;
        this.topics = topics;
        this.publisher = publisher;
        this.clock = clock;
    }

    /** Changes the desired configuration and publishes it (retained). */
    Device setConfig(String deviceId, Map<String, String> changes) {
        Topics.requireDeviceId(deviceId);
        for (String key : changes.keySet()) {
            if (!REMOTE_KEYS.contains(key)) {
                throw new IllegalArgumentException("key '" + key + "' cannot be set remotely; allowed: "
                        + String.join(", ", new TreeSet<>(REMOTE_KEYS)));
            }
        }
        Device d = registry.updateConfig(deviceId, changes);
        publishConfig(d);
        return d;
    }

    /** Sends a command (QoS 1, not retained) and records it; the gateway's ack completes the record. */
    String sendCommand(String deviceId, String command, String argument) {
        Topics.requireDeviceId(deviceId);
        if (!COMMANDS.contains(command)) {
            throw new IllegalArgumentException("unknown command '" + command + "'; commands: "
                    + String.join(", ", new TreeSet<>(COMMANDS)));
        }
        return send(deviceId, command, argument, argument);
    }

    /** An {@code update} command with a signed manifest; the registry records the version as its argument. */
    String sendUpdate(String deviceId, String version, String manifestJson) {
        Topics.requireDeviceId(deviceId);
        return send(deviceId, "update", version, manifestJson);
    }

    private String send(String deviceId, String command, String recorded, String sent) {
        String id = "c-" + UUID.randomUUID();
        Instant now = clock.instant();
        registry.addCommand(new FleetRegistry.Command(id, deviceId, command, recorded, now, null, null, null));
        publisher.publish(topics.commands(deviceId),
                codec.encode(new DeviceCommand(WireCodec.SCHEMA, id, deviceId, command, sent, now)), false);
        return id;
    }

    /** The device's desired configuration, retained on its config topic. */
    void publishConfig(Device d) {
        publisher.publish(topics.config(d.deviceId()),
                codec.encode(new DesiredConfig(WireCodec.SCHEMA, d.deviceId(), d.desiredVersion(), d.desiredConfig())), true);
    }
}
