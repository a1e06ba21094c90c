package app.sevenstamp.autopilot.gateway.fleet;

import app.sevenstamp.autopilot.gateway.config.GatewayKeys;
import app.sevenstamp.autopilot.protocol.support.ConfigException;
import app.sevenstamp.autopilot.protocol.support.Settings;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Properties;
import java.util.regex.Pattern;

/**
 * The gateway's fleet keys ({@code provision.*}, {@code fleet.*}, {@code log.level}). They are read
 * here and taken out of the properties before {@code GatewayConfig} checks the rest, so that the core
 * configuration stays as it is.
 *
 * @param claimToken        null: no provisioning (the file carries device.id and credentials itself)
 * @param hardwareId        null: read from the machine ({@link HardwareId})
 * @param provisionTimeout  how long one provisioning attempt waits for the sink's answer
 * @param heartbeat         how often the retained status is refreshed
 * @param logLevel          tinylog level, applied at start
 */
public record FleetSettings(String claimToken, String provisionUsername, String provisionPassword, String hardwareId,
        Duration provisionTimeout, Duration heartbeat, String logLevel) {

    static final Pattern LEVEL = Pattern.compile("trace|debug|info|warn|error");

    /** Reads and removes the fleet keys from {@code p}. */
    public static FleetSettings take(Properties p, String source) {
        Properties mine = new Properties();
        for (String key : p.stringPropertyNames()) {
            if (key.startsWith("provision.") || key.startsWith("fleet.") || key.equals("log.level")) {
                mine.setProperty(key, p.getProperty(key));
                p.remove(key);
            }
        }
        Settings s = new Settings(mine, source);
        FleetSettings f = new FleetSettings(
                s.string(GatewayKeys.PROVISION_CLAIM_TOKEN),
                s.string(GatewayKeys.PROVISION_USERNAME),
                s.string(GatewayKeys.PROVISION_PASSWORD),
                s.string(GatewayKeys.PROVISION_HARDWARE_ID),
                s.duration(GatewayKeys.PROVISION_TIMEOUT),
                s.duration(GatewayKeys.FLEET_HEARTBEAT),
                s.matching(GatewayKeys.LOG_LEVEL, LEVEL, "trace, debug, info, warn or error"));
        s.rejectUnknownKeys();
        return f;
    }

    /** The state directory: where the outbox lives (outbox.dir), and the identity and fleet config beside it. */
    public static Path stateDir(Properties p) {
        String dir = p.getProperty(GatewayKeys.OUTBOX_DIR.name(), GatewayKeys.OUTBOX_DIR.defaultValue()).trim();
        if (dir.isEmpty()) {
            throw new ConfigException("outbox.dir: empty");
        }
        return Path.of(dir);
    }

    @Override
    public String toString() {
        return "FleetSettings[claimToken=" + (claimToken == null ? "none" : "***") + ", provisionUsername="
                + provisionUsername + ", hardwareId=" + hardwareId + ", heartbeat=" + heartbeat + ", logLevel=" + logLevel + "]";
    }
}
