package app.sevenstamp.autopilot.gateway.update;

import app.sevenstamp.autopilot.protocol.DebVersion;
import app.sevenstamp.autopilot.protocol.UpdateManifest;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.PublicKey;
import java.util.HexFormat;
import java.util.Optional;

/**
 * What both sides of the privilege boundary check before anything is installed: the gateway before it downloads,
 * and the root helper again on its own copy of the file (it trusts nothing the gateway's user could have written).
 */
public final class ManifestCheck {
    private ManifestCheck() {
    }

    /**
     * Why this manifest must not be followed, or empty. {@code installed}: the version dpkg has installed, when known;
     * an equal version is refused too ("already installed"): the caller decides what that means.
     */
    public static Optional<String> refusal(UpdateManifest m, PublicKey trusted, String deviceId, Optional<String> installed) {
        if (!m.signedBy(trusted)) {
            return Optional.of(m.signature() == null ? "the manifest is not signed"
                    : "the manifest's signature does not verify with update.trustedKey");
        }
        if (!m.deviceId().equals(deviceId)) {
            return Optional.of("the manifest is for device " + m.deviceId() + ", this box is " + deviceId);
        }
        if (installed.isPresent()) {
            int c = DebVersion.compare(m.version(), installed.get());
            if (c < 0) {
                return Optional.of("version " + m.version() + " is older than the installed " + installed.get() + ": no downgrade");
            }
            if (c == 0) {
                return Optional.of("version " + m.version() + " is already installed");
            }
        }
        return Optional.empty();
    }

    /** Why {@code file} is not the manifest's .deb (size, then SHA-256), or empty. */
    public static Optional<String> fileRefusal(UpdateManifest m, Path file) throws IOException {
        long size = Files.size(file);
        if (size != m.size()) {
            return Optional.of("the file has " + size + " bytes, the manifest says " + m.size());
        }
        String sha = sha256(file);
        if (!sha.equals(m.sha256())) {
            return Optional.of("the file's SHA-256 is " + sha + ", the manifest says " + m.sha256());
        }
        return Optional.empty();
    }

    public static String sha256(Path file) throws IOException {
        MessageDigest d = digest();
        try (InputStream in = Files.newInputStream(file)) {
            byte[] buf = new byte[64 * 1024];
            for (int n; (n = in.read(buf)) > 0; ) {
                d.update(buf, 0, n);
            }
        }
        return HexFormat.of().formatHex(d.digest());
    }

    static MessageDigest digest() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is in every JDK", e);
        }
    }

    /** The installed version of {@code pkg} from dpkg's status file; empty when not installed or unreadable. */
    public static Optional<String> installedVersion(Path dpkgStatus, String pkg) {
        try {
            String installed = null;
            boolean ours = false;
            boolean ok = false;
            for (String line : Files.readAllLines(dpkgStatus)) {
                if (line.isEmpty()) {
                    if (ours && ok && installed != null) {
                        return Optional.of(installed);
                    }
                    ours = false;
                    ok = false;
                    installed = null;
                } else if (line.equals("Package: " + pkg)) {
                    ours = true;
                } else if (line.startsWith("Status: ")) {
                    ok = line.endsWith(" installed");
                } else if (line.startsWith("Version: ")) {
                    installed = line.substring("Version: ".length()).trim();
                }
            }
            return ours && ok && installed != null ? Optional.of(installed) : Optional.empty();
        } catch (IOException e) {
            return Optional.empty();
        }
    }
}
