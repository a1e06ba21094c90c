package app.sevenstamp.autopilot.gateway.config;

import app.sevenstamp.autopilot.protocol.UpdateManifest;
import app.sevenstamp.autopilot.protocol.support.ConfigException;
import app.sevenstamp.autopilot.protocol.support.Settings;
import java.nio.file.Path;
import java.security.PublicKey;
import java.time.Duration;
import java.util.Properties;

/**
 * The {@code update.*} keys, read from the configuration file only: the sink's desired configuration cannot set
 * them (FleetBoot drops them from it), since they say which key a box trusts and which commands root runs.
 *
 * @param trustedKey     the sink's update public key (base64url of 32 bytes); null: this box takes no updates
 * @param maxBytes       the largest .deb the box downloads
 * @param healthTimeout  how long the new version has to reach the broker before the previous one is reinstalled
 * @param installCommand run by the root helper with the .deb as {@code $1} ({@code sh -c})
 * @param restartCommand run by the root helper after each install
 * @param trigger        run by the gateway (as its own user) once a verified request is queued; empty: a systemd
 *                       path unit watches the queue ({@code 7stamp-gateway-update.path})
 * @param keepDir        root's directory for the .deb of the installed version (the rollback) and the one being installed
 * @param packageName    the Debian package
 * @param dpkgStatus     dpkg's status file, where the installed version is read
 */
public record UpdateSettings(String trustedKey, long maxBytes, Duration healthTimeout, String installCommand,
        String restartCommand, String trigger, Path keepDir, String packageName, Path dpkgStatus) {

    public static final String DEFAULT_INSTALL = "dpkg --force-confold --force-confdef -i \"$1\"";
    public static final String DEFAULT_RESTART =
            "systemctl reset-failed 7stamp-gateway.service; systemctl restart --no-block 7stamp-gateway.service";

    /** Updates off: no trusted key. */
    public static final UpdateSettings OFF = take(new Properties(), "defaults");

    /** Reads and removes the {@code update.*} keys from {@code p}. */
    public static UpdateSettings take(Properties p, String source) {
        Properties mine = new Properties();
        for (String key : p.stringPropertyNames()) {
            if (key.startsWith("update.")) {
                mine.setProperty(key, p.getProperty(key));
                p.remove(key);
            }
        }
        Settings s = new Settings(mine, source);
        String key = s.string(GatewayKeys.UPDATE_TRUSTED_KEY);
        if (key != null) {
            try {
                UpdateManifest.publicKey(key);
            } catch (IllegalArgumentException e) {
                throw new ConfigException(source + ": update.trustedKey: '" + key + "' is not an Ed25519 public key ("
                        + e.getMessage() + "); allowed: the line `autopilot-sink update key` prints");
            }
        }
        UpdateSettings u = new UpdateSettings(key,
                s.integer(GatewayKeys.UPDATE_MAX_MEGABYTES) * 1024L * 1024L,
                s.duration(GatewayKeys.UPDATE_HEALTH_TIMEOUT),
                s.string(GatewayKeys.UPDATE_INSTALL_COMMAND),
                s.string(GatewayKeys.UPDATE_RESTART_COMMAND),
                s.string(GatewayKeys.UPDATE_TRIGGER),
                Path.of(s.string(GatewayKeys.UPDATE_KEEP_DIR)),
                s.string(GatewayKeys.UPDATE_PACKAGE),
                Path.of(s.string(GatewayKeys.UPDATE_DPKG_STATUS)));
        s.rejectUnknownKeys();
        return u;
    }

    public boolean enabled() {
        return trustedKey != null;
    }

    public PublicKey publicKey() {
        return UpdateManifest.publicKey(trustedKey);
    }
}
