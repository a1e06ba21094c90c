package app.sevenstamp.autopilot.protocol.testing;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.TimeUnit;

/**
 * A stand-in for systemd's notification socket: a Unix datagram socket whose datagrams are appended
 * to a file, one per line. The receiver is a few lines of Python because it must behave like PID 1
 * in one respect: {@code systemd-notify} (systemd 250+) passes a pipe with BARRIER=1 and waits until
 * the receiver closes it; a plain {@code recv} drops the passed descriptor at once, socat keeps it
 * (and systemd-notify would wait 5 s and fail).
 */
public final class NotifySocket implements AutoCloseable {
    private static final String RECEIVER = String.join("\n",
            "import socket, sys",
            "s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)",
            "s.bind(sys.argv[1])",
            "with open(sys.argv[2], 'ab', buffering=0) as out:",
            "    while True:",
            "        out.write(s.recv(65536) + b'\\n')",
            "");

    private final Path socket;
    private final Path received;
    private final Process process;

    private NotifySocket(Path socket, Path received, Process process) {
        this.socket = socket;
        this.received = received;
        this.process = process;
    }

    public static NotifySocket start(Path dir) {
        Path socket = dir.resolve("notify.sock");
        Path received = dir.resolve("notify.received");
        try {
            Files.createDirectories(dir);
            Files.writeString(received, "");
            Process p = new ProcessBuilder(Tools.require("python3", "python3").toString(), "-c", RECEIVER,
                    socket.toString(), received.toString()).redirectErrorStream(true)
                    .redirectOutput(dir.resolve("notify.log").toFile()).start();
            long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
            while (!Files.exists(socket)) {
                if (!p.isAlive() || System.nanoTime() > deadline) {
                    p.destroyForcibly();
                    throw new IllegalStateException("the notify socket receiver did not start: "
                            + Files.readString(dir.resolve("notify.log")));
                }
                Thread.sleep(10); // another process creates the socket file: nothing to block on
            }
            return new NotifySocket(socket, received, p);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted", e);
        }
    }

    /** The value for NOTIFY_SOCKET. */
    public Path path() {
        return socket;
    }

    /** Every datagram so far, each followed by a newline. */
    public String received() {
        try {
            return Files.readString(received, StandardCharsets.UTF_8);
        } catch (NoSuchFileException e) {
            return "";
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    @Override
    public void close() throws InterruptedException {
        process.destroy();
        if (!process.waitFor(5, TimeUnit.SECONDS)) {
            process.destroyForcibly();
        }
    }
}
