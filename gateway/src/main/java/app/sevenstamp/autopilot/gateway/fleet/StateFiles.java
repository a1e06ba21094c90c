package app.sevenstamp.autopilot.gateway.fleet;

import java.io.IOException;
import java.io.Reader;
import java.io.UncheckedIOException;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Optional;
import java.util.Properties;

/**
 * The fleet's files in the state directory, each mode 600 and replaced atomically (write a temporary
 * file, then rename), so a power cut leaves the old or the new file, never half of one:
 * {@code identity.properties} (device.id, device.location, mqtt credentials) and
 * {@code fleet-config.properties} (the desired configuration and its {@code config.version}) and
 * {@code counter-rules.json} (the newest valid counter rules, as received) and {@code device-key.properties}
 * (the box's own Ed25519 key pair, see {@link DeviceKey}).
 */
final class StateFiles {
    public static final String IDENTITY = "identity.properties";
    public static final String CONFIG = "fleet-config.properties";
    public static final String RULES = "counter-rules.json";
    public static final String DEVICE_KEY = "device-key.properties";

    private StateFiles() {
    }

    public static Optional<Properties> read(Path dir, String name) {
        Path file = dir.resolve(name);
        if (!Files.isRegularFile(file)) {
            return Optional.empty();
        }
        try (Reader r = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
            Properties p = new Properties();
            p.load(r);
            return Optional.of(p);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + file + ": " + e.getMessage(), e);
        }
    }

    public static void write(Path dir, String name, Properties p) {
        java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
        try (Writer w = new java.io.OutputStreamWriter(out, StandardCharsets.UTF_8)) {
            p.store(w, "written by the 7stamp gateway; do not edit while it runs");
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        writeBytes(dir, name, out.toByteArray());
    }

    /** The file's bytes, if it exists. */
    public static Optional<byte[]> readBytes(Path dir, String name) {
        Path file = dir.resolve(name);
        if (!Files.isRegularFile(file)) {
            return Optional.empty();
        }
        try {
            return Optional.of(Files.readAllBytes(file));
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + file + ": " + e.getMessage(), e);
        }
    }

    /** Replaces the file atomically with {@code bytes}, mode 600, synced before the rename. */
    public static void writeBytes(Path dir, String name, byte[] bytes) {
        try {
            Files.createDirectories(dir);
            Path tmp = dir.resolve(name + ".tmp");
            Files.deleteIfExists(tmp);
            Files.createFile(tmp, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
            Files.write(tmp, bytes);
            try (var ch = java.nio.channels.FileChannel.open(tmp, java.nio.file.StandardOpenOption.WRITE)) {
                ch.force(true);
            }
            Files.move(tmp, dir.resolve(name), StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            // the rename itself is in the directory: without this a power cut can still take the new file away
            // (for the device key that would be a box whose pinned key is gone)
            try (var d = java.nio.channels.FileChannel.open(dir, java.nio.file.StandardOpenOption.READ)) {
                d.force(true);
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write " + dir.resolve(name) + ": " + e.getMessage(), e);
        }
    }
}
