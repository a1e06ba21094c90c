package app.sevenstamp.autopilot.gateway.scan;

import com.sun.jna.Memory;
import com.sun.jna.NativeLong;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Objects;
import java.util.Optional;
import java.util.function.Consumer;
import org.tinylog.Logger;

/**
 * A scanner in USB keyboard (HID) mode, read from its evdev device ({@code /dev/input/by-id/...-event-kbd}).
 *
 * <p>A keyboard-mode scanner types into whatever has focus, the Pi's login console included, so the device
 * is grabbed with {@code EVIOCGRAB} ({@code scanner.grab}, on by default): while the gateway holds it,
 * no other reader, the console included, sees a key. A grab that fails on a real evdev device is logged as
 * an error (scans are still read, but they leak); on something that is not an evdev device (a FIFO in tests,
 * a recording) it is a warning.
 *
 * <p>Unplugging: the kernel ends the descriptor with {@code POLLERR}/{@code ENODEV} (a FIFO with end of
 * input); the source closes it, tells the listener once, and every {@code retryEvery} resolves the
 * configured path or glob again and reopens, so a scanner that comes back as another event number is found.
 *
 * <p>Threading: one daemon thread ({@code scanner-hid}) opens, grabs, reads, closes and reopens; it alone
 * touches the descriptor and the decoder, so no descriptor is closed under a read. It waits in
 * {@code poll} for at most {@value #POLL_MS} ms, so {@link #close()} is seen within that.
 */
public final class HidScanSource implements ScanSource {
    static final int POLL_MS = 250;
    private static final long CLOSE_WAIT_MS = 1000;

    private final DevicePath path;
    private final HidDecoder decoder;
    private final boolean grab;
    private final Consumer<Frame> frames;
    private final ScannerListener listener;
    private final ReaderThread reader;
    private boolean warnedNotEvdev;

    public HidScanSource(DevicePath path, HidDecoder decoder, boolean grab, Consumer<Frame> frames,
            ScannerListener listener, Duration retryEvery) {
        this.path = Objects.requireNonNull(path, "path");
        this.decoder = Objects.requireNonNull(decoder, "decoder");
        this.grab = grab;
        this.frames = Objects.requireNonNull(frames, "frames");
        this.listener = Objects.requireNonNull(listener, "listener");
        this.reader = new ReaderThread("scanner-hid", retryEvery, CLOSE_WAIT_MS);
    }

    @Override
    public void start() {
        reader.start(this::run);
    }

    @Override
    public String describe() {
        return "hid " + path + (grab ? " (grabbed)" : " (not grabbed)");
    }

    private void run() {
        LibC libc = LibC.get();
        boolean lost = false;
        boolean reportedMissing = false;
        while (!reader.closed()) {
            String failure;
            Optional<Path> device = path.resolve();
            int fd = device.isEmpty() ? -1
                    : libc.open(device.get().toString(), LibC.O_RDONLY | LibC.O_NONBLOCK | LibC.O_CLOEXEC);
            if (fd < 0) {
                failure = device.isEmpty() ? "no device matches " + path
                        : "cannot open " + device.get() + " (" + openError(LibC.errno(), device.get()) + ")";
            } else {
                reportedMissing = false;
                try {
                    if (grab) {
                        grab(libc, fd, device.get());
                    }
                    Logger.info("keyboard scanner {} open{}", device.get(), lost ? " again" : "");
                    lost = false;
                    listener.scannerReady(device.get().toString());
                    failure = readUntilLost(libc, fd, device.get());
                } finally {
                    libc.close(fd); // also releases the grab
                    decoder.reset();
                }
            }
            if (reader.closed()) {
                break;
            }
            if (!lost) {
                Logger.warn("scanner lost: {}; retrying every {} ms", failure, reader.retryEvery().toMillis());
                listener.scannerLost(failure);
                lost = true;
            } else if (!reportedMissing) {
                reportedMissing = true;
                Logger.debug("scanner still missing: {}", failure);
            }
            reader.awaitRetry();
        }
    }

    private void grab(LibC libc, int fd, Path device) {
        if (libc.ioctl(fd, new NativeLong(LibC.EVIOCGRAB), 1) == 0) {
            Logger.info("keyboard scanner {} grabbed exclusively: its keys reach no console or other program", device);
            return;
        }
        int errno = LibC.errno();
        if (errno == LibC.ENOTTY || errno == LibC.EINVAL) {
            if (!warnedNotEvdev) {
                warnedNotEvdev = true;
                Logger.warn("cannot grab {}: not an evdev device (errno {}); reading it without an exclusive grab",
                        device, errno);
            }
        } else if (errno == LibC.EBUSY) {
            Logger.error("cannot grab {}: another program has grabbed it (EBUSY); this gateway will see no scans "
                    + "from it until that program lets go (check: sudo fuser -v {})", device, device);
        } else {
            Logger.error("cannot grab {} (errno {}): scans are read, but they ALSO reach the console and any "
                    + "program reading the keyboard; set scanner.grab=false to accept that knowingly", device, errno);
        }
    }

    /** Reads until the device fails, ends, or the source is closed; returns why it stopped. */
    private String readUntilLost(LibC libc, int fd, Path device) {
        byte[] chunk = new byte[64 * 24];
        NativeLong chunkSize = new NativeLong(chunk.length);
        Consumer<Frame> deliver = frame -> {
            if (!reader.closed()) {
                frames.accept(frame);
            }
        };
        try (Memory pollFd = new Memory(8)) {
            while (!reader.closed()) {
                pollFd.setInt(0, fd);
                pollFd.setShort(4, LibC.POLLIN);
                pollFd.setShort(6, (short) 0);
                int ready = libc.poll(pollFd, 1, POLL_MS);
                if (ready < 0) {
                    int errno = LibC.errno();
                    if (errno == LibC.EINTR) {
                        continue;
                    }
                    return "waiting for " + device + " failed (errno " + errno + ")";
                }
                if (ready == 0) {
                    continue;
                }
                short events = pollFd.getShort(6);
                if ((events & LibC.POLLIN) != 0) {
                    long n = libc.read(fd, chunk, chunkSize).longValue();
                    if (n > 0) {
                        decoder.feed(chunk, 0, (int) n, deliver);
                        continue;
                    }
                    if (n == 0) {
                        return device + " ended (end of input)";
                    }
                    int errno = LibC.errno();
                    if (errno == LibC.EAGAIN || errno == LibC.EINTR) {
                        continue;
                    }
                    return errno == LibC.ENODEV ? device + " was unplugged" : "reading " + device + " failed (errno " + errno + ")";
                }
                if ((events & (LibC.POLLERR | LibC.POLLHUP | LibC.POLLNVAL)) != 0) {
                    return device + " was unplugged";
                }
            }
        }
        return "closed";
    }

    private static String openError(int errno, Path device) {
        if (errno == 13) {
            return "no permission: the user needs group 'input'";
        }
        if (errno == 2 || !Files.exists(device)) {
            return "unplugged";
        }
        return "errno " + errno;
    }

    @Override
    public void close() {
        reader.close(() -> { }, "keyboard scanner reader for " + path);
    }
}
