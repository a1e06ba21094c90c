package app.sevenstamp.autopilot.protocol.testing;

import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

/**
 * A pair of connected pseudo-terminals made by socat: the gateway opens {@link #devicePath()} as
 * if it were a USB-serial scanner, the test writes scans into {@link #feedPath()}. Closing the pair
 * removes both links, which is what an unplugged scanner looks like to the gateway.
 */
public final class SocatPty implements AutoCloseable {
    private final Path device;
    private final Path feed;
    private final Process process;
    private OutputStream out;

    private SocatPty(Path device, Path feed, Process process) {
        this.device = device;
        this.feed = feed;
        this.process = process;
    }

    public static SocatPty start(Path dir, String name) {
        Path binary = Tools.require("socat", "socat");
        Path device = dir.resolve(name);
        Path feed = dir.resolve(name + "-feed");
        try {
            Files.createDirectories(dir);
            Process process = new ProcessBuilder(binary.toString(), "-d", "-d",
                    "pty,raw,echo=0,link=" + device, "pty,raw,echo=0,link=" + feed)
                    .redirectErrorStream(true)
                    .redirectOutput(dir.resolve(name + "-socat.log").toFile())
                    .start();
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            while (!(Files.exists(device) && Files.exists(feed))) {
                if (!process.isAlive() || System.nanoTime() > deadline) {
                    process.destroyForcibly();
                    throw new IllegalStateException("socat did not create " + device + " and " + feed + ": "
                            + Files.readString(dir.resolve(name + "-socat.log")));
                }
                Thread.sleep(10); // socat gives no other signal that its links exist
            }
            return new SocatPty(device, feed, process);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted", e);
        }
    }

    /** The path the gateway opens (its scanner.port). */
    public Path devicePath() {
        return device;
    }

    public Path feedPath() {
        return feed;
    }

    /** Writes raw bytes as the scanner would send them. */
    public synchronized void write(byte[] bytes) {
        try {
            if (out == null) {
                out = Files.newOutputStream(feed);
            }
            out.write(bytes);
            out.flush();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Writes one scan followed by a carriage return, the default terminator of most scanners. */
    public void scan(String text) {
        write((text + "\r").getBytes(java.nio.charset.StandardCharsets.UTF_8));
    }

    @Override
    public synchronized void close() {
        try {
            if (out != null) {
                out.close();
            }
        } catch (IOException e) {
            // the pty is going away anyway
        }
        process.destroy();
        try {
            if (!process.waitFor(5, TimeUnit.SECONDS)) {
                process.destroyForcibly();
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
