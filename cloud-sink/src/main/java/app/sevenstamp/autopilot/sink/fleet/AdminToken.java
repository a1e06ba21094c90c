package app.sevenstamp.autopilot.sink.fleet;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.SecureRandom;
import java.util.Base64;

/**
 * The bearer token of the sink's operator HTTP routes (fleet, ledger, dead letters): {@code admin.token}
 * when the config sets one (several instances must share it), else a file of mode 600 next to the
 * database ({@code admin.tokenFile}), made on first use. The CLI reads it the same way.
 */
public final class AdminToken {
    private AdminToken() {
    }

    /** The token the running sink accepts; creates the token file when neither exists yet. */
    public static String of(app.sevenstamp.autopilot.sink.config.SinkConfig config) {
        String configured = config.access().adminToken();
        return configured != null ? configured : loadOrCreate(config.adminTokenFile());
    }

    /** As {@link #of}, for a client: never creates the file. */
    public static String forClient(app.sevenstamp.autopilot.sink.config.SinkConfig config) throws IOException {
        String configured = config.access().adminToken();
        return configured != null ? configured : read(config.adminTokenFile());
    }

    public static String loadOrCreate(Path file) {
        try {
            if (!Files.exists(file)) {
                byte[] b = new byte[32];
                new SecureRandom().nextBytes(b);
                String token = Base64.getUrlEncoder().withoutPadding().encodeToString(b);
                Files.createDirectories(file.toAbsolutePath().getParent());
                try {
                    Files.createFile(file, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
                    Files.writeString(file, token + "\n", StandardCharsets.US_ASCII);
                    return token;
                } catch (FileAlreadyExistsException e) {
                    // another command created it at the same moment: read theirs
                }
            }
            return read(file);
        } catch (IOException e) {
            throw new UncheckedIOException("admin token " + file + " (admin.tokenFile): " + e.getMessage(), e);
        }
    }

    public static String read(Path file) throws IOException {
        String token = Files.readString(file, StandardCharsets.US_ASCII).trim();
        if (token.length() < 16) {
            throw new IOException("admin token " + file + " is shorter than 16 characters");
        }
        return token;
    }
}
