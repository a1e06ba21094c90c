package app.sevenstamp.autopilot.gateway.fleet;

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
                s.string("provision.claimToken", null),
                s.string("provision.username", "provision"),
                s.string("provision.password", "provision"),
                s.string("provision.hardwareId", null),
                s.duration("provision.timeout", Duration.ofSeconds(15), Duration.ofSeconds(1), Duration.ofMinutes(5)),
                s.duration("fleet.heartbeat", Duration.ofSeconds(60), Duration.ofSeconds(1), Duration.ofHours(1)),
                s.matching("log.level", "info", LEVEL, "trace, debug, info, warn or error"));
        s.rejectUnknownKeys();
        return f;
    }

    /** The state directory: where the outbox lives (outbox.dir), and the identity and fleet config beside it. */
    public static Path stateDir(Properties p) {
        String dir = p.getProperty("outbox.dir", "./data/gateway").trim();
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
