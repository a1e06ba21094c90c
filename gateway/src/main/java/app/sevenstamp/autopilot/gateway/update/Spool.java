package app.sevenstamp.autopilot.gateway.update;

import app.sevenstamp.autopilot.protocol.UpdateReport;
import java.io.IOException;
import java.io.Reader;
import java.io.StringWriter;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Optional;
import java.util.Properties;

/**
 * The update queue between the gateway (its user) and the root helper, {@code <outbox.dir>/update}:
 * <ul>
 * <li>{@code update.deb} and {@code request.json} (the signed manifest), written by the gateway in that order; the
 *     path unit starts the helper when {@code request.json} exists, and the helper renames it to {@code taken.json};</li>
 * <li>{@code inflight.properties} (version, token), written by the helper before it installs: the gateway that
 *     starts and finds it writes {@code healthy} with the token once its status reached the broker;</li>
 * <li>{@code result.properties} (version, state, detail): the helper's outcome, reported in every status.</li>
 * </ul>
 * Every file is replaced atomically (temporary file, rename). The helper's files are mode 644 and owned by the
 * directory's owner, so that the gateway can read and later remove them.
 */
final class Spool {
    public static final String DEB = "update.deb";
    public static final String REQUEST = "request.json";
    public static final String TAKEN = "taken.json";
    public static final String INFLIGHT = "inflight.properties";
    public static final String HEALTHY = "healthy";
    public static final String RESULT = "result.properties";
    /** The largest control file read: a manifest or a properties file is far smaller. */
    public static final int SMALL = 64 * 1024;

    private final Path dir;

    public Spool(Path stateDir) {
        this.dir = stateDir.resolve("update");
    }

    public Path dir() {
        return dir;
    }

    public Path file(String name) {
        return dir.resolve(name);
    }

    public boolean exists(String name) {
        return Files.isRegularFile(dir.resolve(name), LinkOption.NOFOLLOW_LINKS);
    }

    public Optional<Properties> properties(String name) {
        return bytes(name, SMALL).flatMap(b -> {
            try (Reader r = new java.io.StringReader(new String(b, StandardCharsets.UTF_8))) {
                Properties p = new Properties();
                p.load(r);
                return Optional.of(p);
            } catch (IOException | IllegalArgumentException e) {
                return Optional.<Properties>empty(); // a file being replaced: read again at the next status
            }
        });
    }

    public Optional<String> text(String name) {
        return bytes(name, SMALL).map(b -> new String(b, StandardCharsets.UTF_8).trim());
    }

    /**
     * A small file's bytes: only a regular file, not through a symbolic link, at most {@code max} bytes. Root reads
     * what the gateway's user may have put here: a link to /dev/zero or to a secret must not be followed.
     */
    public Optional<byte[]> bytes(String name, int max) {
        Path f = dir.resolve(name);
        if (!Files.isRegularFile(f, LinkOption.NOFOLLOW_LINKS)) {
            return Optional.empty();
        }
        try (var ch = java.nio.channels.FileChannel.open(f, java.nio.file.StandardOpenOption.READ, LinkOption.NOFOLLOW_LINKS)) {
            if (ch.size() > max) {
                return Optional.empty();
            }
            java.nio.ByteBuffer buf = java.nio.ByteBuffer.allocate((int) ch.size());
            while (buf.hasRemaining() && ch.read(buf) > 0) {
                // read it all
            }
            return Optional.of(java.util.Arrays.copyOf(buf.array(), buf.position()));
        } catch (IOException e) {
            return Optional.empty();
        }
    }

    /**
     * Refuses a spool reached through a symbolic link (the gateway's user owns the state directory and could point
     * it anywhere): root writes here.
     */
    public void requireNoLinks() throws IOException {
        Path abs = dir.toAbsolutePath().normalize();
        if (!Files.isDirectory(abs, LinkOption.NOFOLLOW_LINKS) || !abs.toRealPath().equals(abs)) {
            throw new IOException("refusing the update spool " + abs + ": not a directory, or reached through a symbolic link");
        }
    }

    public void write(String name, Properties p) {
        StringWriter w = new StringWriter();
        try {
            p.store(w, null);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        write(name, w.toString());
    }

    /** Atomically, mode 644, owned like the directory (the helper runs as root, the gateway must read it). */
    public void write(String name, String text) {
        try {
            Files.createDirectories(dir);
            Path tmp = dir.resolve(name + ".tmp");
            Files.deleteIfExists(tmp);
            Files.createFile(tmp, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-r--r--")));
            Files.writeString(tmp, text, StandardCharsets.UTF_8);
            try (var ch = java.nio.channels.FileChannel.open(tmp, java.nio.file.StandardOpenOption.WRITE)) {
                ch.force(true);
            }
            var owner = Files.getOwner(dir);
            if (!Files.getOwner(tmp).equals(owner)) {
                Files.setOwner(tmp, owner);
            }
            Files.move(tmp, dir.resolve(name), StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write " + dir.resolve(name) + ": " + e.getMessage(), e);
        }
    }

    public void delete(String... names) {
        for (String n : names) {
            try {
                Files.deleteIfExists(dir.resolve(n));
            } catch (IOException e) {
                throw new UncheckedIOException("cannot delete " + dir.resolve(n) + ": " + e.getMessage(), e);
            }
        }
    }

    /** The helper's outcome, if any. */
    public Optional<UpdateReport> result() {
        return properties(RESULT).flatMap(p -> {
            try {
                return Optional.of(new UpdateReport(p.getProperty("version"), p.getProperty("state"), p.getProperty("detail")));
            } catch (RuntimeException e) {
                return Optional.empty();
            }
        });
    }

    public void result(UpdateReport r) {
        Properties p = new Properties();
        p.setProperty("version", r.version());
        p.setProperty("state", r.state());
        if (r.detail() != null) {
            p.setProperty("detail", r.detail());
        }
        write(RESULT, p);
    }
}
