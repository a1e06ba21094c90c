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

/** The bearer token of the fleet HTTP API: a file of mode 600 next to the database, made on first use. */
public final class AdminToken {
    private AdminToken() {
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
