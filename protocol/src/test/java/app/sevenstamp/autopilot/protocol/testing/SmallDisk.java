package app.sevenstamp.autopilot.protocol.testing;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.concurrent.TimeUnit;

/**
 * A size-limited tmpfs for the outbox, and a ballast file that fills it to the last byte: the disk that
 * filled up behind the gateway's back (a log, another program). Mounting needs root, as the integration
 * tests run in CI; it fails loudly otherwise.
 */
public final class SmallDisk implements AutoCloseable {
    private final Path mountPoint;
    private final Path ballast;

    private SmallDisk(Path mountPoint) {
        this.mountPoint = mountPoint;
        this.ballast = mountPoint.resolve("ballast");
    }

    public static SmallDisk mount(Path mountPoint, String size) throws IOException, InterruptedException {
        if (!"root".equals(System.getProperty("user.name"))) {
            throw new AssertionError("mounting a size-limited tmpfs needs root; run the integration tests as root"
                    + " (scripts/test does), user is " + System.getProperty("user.name"));
        }
        Files.createDirectories(mountPoint);
        run("mount", "-t", "tmpfs", "-o", "size=" + size, "tmpfs", mountPoint.toString());
        return new SmallDisk(mountPoint);
    }

    public Path path() {
        return mountPoint;
    }

    /** Writes the ballast until the disk refuses a single byte more; returns its size. */
    public long fill() throws IOException {
        long written = 0;
        try (FileChannel out = FileChannel.open(ballast, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                StandardOpenOption.APPEND)) {
            for (int chunk = 1 << 20; chunk >= 1; chunk /= 2) {
                ByteBuffer zeros = ByteBuffer.allocate(chunk);
                while (true) {
                    zeros.clear();
                    try {
                        written += out.write(zeros);
                    } catch (IOException full) {
                        break; // ENOSPC: try the next smaller chunk
                    }
                }
            }
        }
        return written;
    }

    public void free() throws IOException {
        Files.deleteIfExists(ballast);
    }

    @Override
    public void close() throws IOException, InterruptedException {
        run("umount", "-l", mountPoint.toString());
    }

    private static void run(String... command) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!p.waitFor(30, TimeUnit.SECONDS) || p.exitValue() != 0) {
            throw new AssertionError(String.join(" ", command) + " failed: " + out);
        }
    }
}
