package app.sevenstamp.autopilot.gateway.fleet;

import app.sevenstamp.autopilot.gateway.config.GatewayConfig;
import app.sevenstamp.autopilot.gateway.config.GatewayKeys;
import app.sevenstamp.autopilot.gateway.config.UpdateSettings;
import app.sevenstamp.autopilot.protocol.Topics;
import app.sevenstamp.autopilot.protocol.support.ConfigException;
import app.sevenstamp.autopilot.protocol.support.MqttTls;
import app.sevenstamp.autopilot.protocol.support.Settings;
import java.io.IOException;
import java.io.Reader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.ThreadLocalRandom;
import java.util.function.Supplier;

/**
 * Builds the effective configuration at start: the file, then what fleet management stored in the
 * state directory on top (the identity from provisioning; the sink's desired configuration), and
 * provisions first when the file carries a claim and no identity is stored yet.
 */
public final class FleetBoot {
    private FleetBoot() {
    }

    /** The effective configuration and the fleet settings. */
    public record Boot(GatewayConfig config, FleetSettings fleet, UpdateSettings updates) {
    }

    /** Reads the file and the stored fleet state; sets the log level. Does not provision. */
    public static Phase1 read(Path file) {
        Properties p = new Properties();
        try (Reader r = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
            p.load(r);
        } catch (IOException e) {
            throw new ConfigException(file + ": cannot read the configuration: " + e.getMessage());
        }
        FleetSettings fileFleet = FleetSettings.take(p, file.toString());
        // from the file only: which key a box trusts for updates and what root runs is not the sink's to change
        UpdateSettings updates = UpdateSettings.take(p, file.toString());
        Path stateDir = FleetSettings.stateDir(p);
        Map<String, String> desired = FleetAgent.storedSettings(stateDir);
        Properties fleetKeys = new Properties();
        Properties all = new Properties();
        all.putAll(p);
        desired.forEach((k, v) -> {
            if (k.startsWith("update.")) {
                return; // never from the sink (see above); FleetAgent stores what it is sent
            }
            if (k.startsWith("fleet.") || k.startsWith("provision.") || k.equals("log.level")) {
                fleetKeys.setProperty(k, v);
            } else {
                all.setProperty(k, v);
            }
        });
        FleetSettings fleet = fileFleet;
        if (!fleetKeys.isEmpty()) {
            Properties merged = new Properties();
            // the file's fleet keys, then the sink's on top
            put(merged, fileFleet);
            merged.putAll(fleetKeys);
            fleet = FleetSettings.take(merged, "desired config in " + stateDir.resolve(StateFiles.CONFIG));
        }
        // tinylog reads its configuration once, at the first log line: set the level before that
        System.setProperty("tinylog.writer.level", fleet.logLevel());
        return new Phase1(file, all, fleet, stateDir, updates);
    }

    private static void put(Properties p, FleetSettings f) {
        if (f.claimToken() != null) {
            p.setProperty("provision.claimToken", f.claimToken());
        }
        p.setProperty("provision.username", f.provisionUsername());
        p.setProperty("provision.password", f.provisionPassword());
        if (f.hardwareId() != null) {
            p.setProperty("provision.hardwareId", f.hardwareId());
        }
        p.setProperty("provision.timeout", f.provisionTimeout().toMillis() + "ms");
        p.setProperty("fleet.heartbeat", f.heartbeat().toMillis() + "ms");
        p.setProperty("log.level", f.logLevel());
    }

    public record Phase1(Path file, Properties properties, FleetSettings fleet, Path stateDir, UpdateSettings updates) {

        public boolean needsProvisioning() {
            return fleet.claimToken() != null && StateFiles.read(stateDir, StateFiles.IDENTITY).isEmpty();
        }

        /** Provisions (blocking) when needed, then checks the whole configuration. */
        public Boot complete(String hostName, Supplier<String> hardwareId, String version)
                throws Provisioner.RefusedException, InterruptedException {
            if (fleet.claimToken() != null) {
                // made at the first start with a claim, also on a box provisioned before device keys (its next
                // provisioning then needs an operator's approval once, and pins this key)
                byte[] deviceKey = DeviceKey.loadOrCreate(stateDir, new java.security.SecureRandom());
                if (needsProvisioning()) {
                    provision(deviceKey, hardwareId, version);
                }
            }
            Properties effective = new Properties();
            effective.putAll(properties);
            if (fleet.claimToken() != null) {
                StateFiles.read(stateDir, StateFiles.IDENTITY).ifPresent(effective::putAll);
                // a provisioned box takes the sink's desired config as it was at provisioning, too
                FleetAgent.storedSettings(stateDir).forEach((k, v) -> {
                    if (!k.startsWith("fleet.") && !k.startsWith("provision.") && !k.equals("log.level") && !k.startsWith("update.")) {
                        effective.setProperty(k, v);
                    }
                });
            }
            GatewayConfig config = GatewayConfig.from(new Settings(effective, file.toString()), hostName,
                    GatewayConfig.SERIAL_BY_ID);
            return new Boot(config, fleet, updates);
        }

        private void provision(byte[] deviceKey, Supplier<String> hardwareId, String version)
                throws Provisioner.RefusedException, InterruptedException {
            String url = properties.getProperty(GatewayKeys.MQTT_URL.name(), GatewayKeys.MQTT_URL.defaultValue()).trim();
            Topics topics = new Topics(properties.getProperty(GatewayKeys.MQTT_TOPIC_PREFIX.name(),
                    GatewayKeys.MQTT_TOPIC_PREFIX.defaultValue()).trim());
            String hw = fleet.hardwareId() != null ? fleet.hardwareId() : hardwareId.get();
            // the broker's CA and the client certificate from the file: a fleet on a private CA provisions over TLS too
            MqttTls tls = MqttTls.from(new Settings(properties, file.toString()), "mqtt.tls.", "mqtt.url", url);
            new Provisioner(url, topics, fleet, hw, deviceKey, version, tls, Provisioner.Sleeper.REAL,
                    () -> ThreadLocalRandom.current().nextDouble()).provisionInto(stateDir);
        }
    }
}
