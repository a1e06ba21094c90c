package app.sevenstamp.autopilot.gateway.scan;

import app.sevenstamp.autopilot.protocol.testing.Tools;
import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

/**
 * A named pipe standing in for an evdev device: the HID source opens it like {@code /dev/input/event3},
 * the test plays a recorded input_event stream into it. Closing the writer is end of input, which the
 * source treats like an unplug; deleting the pipe makes the device disappear.
 */
final class Fifo {
    private Fifo() {
    }

    static Path create(Path path) {
        Path mkfifo = Tools.require("mkfifo", "coreutils");
        try {
            Process p = new ProcessBuilder(mkfifo.toString(), path.toString()).redirectErrorStream(true).start();
            if (!p.waitFor(10, TimeUnit.SECONDS) || p.exitValue() != 0) {
                throw new IllegalStateException("mkfifo " + path + " failed: " + new String(p.getInputStream().readAllBytes()));
            }
            return path;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    /**
     * Writes the stream and closes: opening blocks until a reader has the pipe open, so call it once the
     * source reported the device ready.
     */
    static void play(Path fifo, byte[] bytes) {
        try (OutputStream out = Files.newOutputStream(fifo)) {
            out.write(bytes);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /**
     * An unplug with a last burst of input: the node disappears before the stream ends, as a device node
     * does, so the source cannot reopen the old pipe in between.
     */
    static void playAndUnplug(Path fifo, byte[] bytes) {
        try (OutputStream out = Files.newOutputStream(fifo)) {
            out.write(bytes);
            Files.delete(fifo);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
