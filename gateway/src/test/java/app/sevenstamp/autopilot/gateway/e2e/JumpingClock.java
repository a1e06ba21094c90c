package app.sevenstamp.autopilot.gateway.e2e;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;

/**
 * The wall clock of one child process, which the test can make jump as NTP does on a Pi without a
 * real-time clock: libfaketime (Debian package libfaketime) is preloaded and reads its offset from a
 * file, at most a second old. The monotonic clock is left alone, as NTP leaves it; so are file times.
 * The gateway has no clock hook of its own, and none is added for a test: the JVM's own clock calls
 * are what jump.
 *
 * <p>The offset lives in the file, so a process started again after a kill keeps the jumped clock.
 */
final class JumpingClock {
    private static final String LIBRARY = "libfaketimeMT.so.1";

    private final Path file;
    private final Path library;
    private Duration offset = Duration.ZERO;

    JumpingClock(Path file) {
        this.file = file;
        this.library = findLibrary();
        write();
    }

    /** What the child process needs in its environment. */
    Map<String, String> environment() {
        return Map.of(
                "LD_PRELOAD", library.toString(),
                "FAKETIME_TIMESTAMP_FILE", file.toString(),
                // re-read the file at most once a second: reading it on every clock call slows the JVM down
                "FAKETIME_CACHE_DURATION", "1",
                // the JVM's timed waits and System.nanoTime run on CLOCK_MONOTONIC, which NTP does not step
                "FAKETIME_DONT_FAKE_MONOTONIC", "1",
                // libfaketime's rewrite of monotonic condition-variable waits made every JVM sleep spin (a second of
                // CPU per second, measured with Thread.sleep); without it the waits are the kernel's own
                "FAKETIME_FORCE_MONOTONIC_FIX", "0",
                "NO_FAKE_STAT", "1");
    }

    /** Moves the wall clock by {@code by} (negative: back); effective within a second. */
    void jump(Duration by) {
        offset = offset.plus(by);
        write();
    }

    Duration offset() {
        return offset;
    }

    private void write() {
        try {
            Path tmp = file.resolveSibling(file.getFileName() + ".tmp");
            Files.writeString(tmp, (offset.isNegative() ? "" : "+") + offset.toSeconds() + "\n", StandardCharsets.US_ASCII);
            // renamed into place: libfaketime never reads a half-written offset
            Files.move(tmp, file, java.nio.file.StandardCopyOption.ATOMIC_MOVE, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** The library in Debian's multiarch folder; a missing package fails the test and names it. */
    private static Path findLibrary() {
        try (DirectoryStream<Path> dirs = Files.newDirectoryStream(Path.of("/usr/lib"), "*-linux-gnu*")) {
            for (Path dir : dirs) {
                Path candidate = dir.resolve("faketime").resolve(LIBRARY);
                if (Files.isRegularFile(candidate)) {
                    return candidate;
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        throw new AssertionError(LIBRARY + " is not installed: install the Debian package 'libfaketime'"
                + " (scripts/test does this when run as root)");
    }
}
