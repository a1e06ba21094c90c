package app.sevenstamp.autopilot.gateway.scan;

import com.fazecast.jSerialComm.SerialPort;
import com.fazecast.jSerialComm.SerialPortDataListener;
import com.fazecast.jSerialComm.SerialPortEvent;
import com.fazecast.jSerialComm.SerialPortInvalidPortException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Consumer;
import org.tinylog.Logger;

/**
 * A scanner in serial mode (USB CDC-ACM or a USB-serial adapter), read with jSerialComm.
 *
 * <p>Unplugging is expected at a counter. After an unplug {@code isOpen()} can stay true, so loss is
 * detected three ways: the {@code LISTENING_EVENT_PORT_DISCONNECTED} event, a failed read, and
 * {@code bytesAvailable() < 0} on an idle port. On loss the port is closed, the listener is told once,
 * and the port is reopened every {@code retryEvery} until it is back. The configured path or glob is
 * resolved again at each open: configure the stable {@code /dev/serial/by-id/...} name (or a glob such
 * as {@code /dev/serial/by-id/*Honeywell*}), which follows a scanner that comes back as another ttyACM.
 *
 * <p>With {@link Terminator#NONE} the read timeout is the inter-character timeout, and a read that
 * returns nothing after data ends the scan.
 *
 * <p>Threading: one daemon thread ({@code scanner-serial}) opens, reads and reopens, and owns the
 * framer. jSerialComm's event thread only sets a flag. {@link #close()} closes the port, which ends a
 * blocked read, and waits a bounded time for the reader.
 */
public final class SerialScanSource implements ScanSource {
    /** A semi-blocking read returns after this long without data, so the loop checks its flags. */
    private static final int READ_TIMEOUT_MS = 500;
    /** Closing the port ends a blocked read at once; this only bounds a misbehaving driver. */
    private static final long CLOSE_WAIT_MS = 600;
    private static final int EINTR = 4;
    private static final int EAGAIN = 11;
    /** Transient read errors in a row after which the port counts as lost, so a broken port cannot spin. */
    private static final int MAX_TRANSIENT_ERRORS = 100;

    private final DevicePath path;
    private final int baud;
    /** 0 unless the terminator is NONE. */
    private final int interCharMillis;
    private final Framer framer;
    private final Consumer<Frame> frames;
    private final ScannerListener listener;
    private final AtomicBoolean disconnected = new AtomicBoolean();
    private volatile SerialPort current;
    private final ReaderThread reader;

    /**
     * @param interCharTimeout with {@link Terminator#NONE}: the pause that ends a scan; null otherwise
     */
    public SerialScanSource(DevicePath path, int baud, Duration interCharTimeout, Framer framer, Consumer<Frame> frames,
            ScannerListener listener, Duration retryEvery) {
        this.path = Objects.requireNonNull(path, "path");
        this.baud = baud;
        this.interCharMillis = interCharTimeout == null ? 0 : (int) Math.max(1, interCharTimeout.toMillis());
        this.framer = Objects.requireNonNull(framer, "framer");
        this.frames = Objects.requireNonNull(frames, "frames");
        this.listener = Objects.requireNonNull(listener, "listener");
        this.reader = new ReaderThread("scanner-serial", retryEvery, CLOSE_WAIT_MS);
    }

    @Override
    public void start() {
        reader.start(this::run);
    }

    @Override
    public String describe() {
        return "serial " + path + " " + baud + " baud" + (interCharMillis > 0
                ? ", scan ends after " + interCharMillis + " ms without data" : "");
    }

    private void run() {
        boolean lost = false;
        while (!reader.closed()) {
            String failure;
            Optional<Path> device = path.resolve();
            SerialPort port = device.isEmpty() ? null : open(device.get().toString());
            if (device.isEmpty()) {
                failure = "no device matches " + path;
            } else if (port == null) {
                failure = "cannot open " + device.get() + " (unplugged, or no permission: the user needs group 'dialout')";
            } else {
                if (lost) {
                    Logger.info("scanner {} is back", device.get());
                    lost = false;
                } else {
                    Logger.info("scanner {} open at {} baud", device.get(), baud);
                }
                listener.scannerReady(device.get().toString());
                failure = readUntilLost(port, device.get().toString());
                port.closePort();
                current = null;
                framer.reset();
            }
            if (reader.closed()) {
                break;
            }
            if (!lost) {
                Logger.warn("scanner lost: {}; retrying every {} ms", failure, reader.retryEvery().toMillis());
                listener.scannerLost(failure);
                lost = true;
            }
            reader.awaitRetry();
        }
    }

    private SerialPort open(String device) {
        SerialPort port;
        try {
            port = SerialPort.getCommPort(device);
        } catch (SerialPortInvalidPortException e) {
            return null;
        }
        port.setComPortParameters(baud, 8, SerialPort.ONE_STOP_BIT, SerialPort.NO_PARITY);
        port.setComPortTimeouts(SerialPort.TIMEOUT_READ_SEMI_BLOCKING,
                interCharMillis > 0 ? Math.min(interCharMillis, READ_TIMEOUT_MS) : READ_TIMEOUT_MS, 0);
        if (!port.openPort()) {
            return null;
        }
        disconnected.set(false);
        port.addDataListener(new SerialPortDataListener() {
            @Override
            public int getListeningEvents() {
                return SerialPort.LISTENING_EVENT_PORT_DISCONNECTED;
            }

            @Override
            public void serialEvent(SerialPortEvent event) {
                disconnected.set(true);
            }
        });
        current = port;
        if (reader.closed()) {
            // close() ran between the flag check and the assignment above and saw no port to close
            port.closePort();
        }
        return port;
    }

    /** Reads until the port fails or the source is closed; returns why it stopped. */
    private String readUntilLost(SerialPort port, String path) {
        byte[] chunk = new byte[256];
        int transientErrors = 0;
        Consumer<Frame> deliver = frame -> {
            if (!reader.closed()) {
                frames.accept(frame);
            }
        };
        while (!reader.closed()) {
            if (disconnected.get()) {
                return path + " was disconnected";
            }
            int n = port.readBytes(chunk, chunk.length);
            if (n < 0) {
                int error = port.getLastErrorCode();
                // a signal (SIGTERM at shutdown, for one) can cut a read short; that is not an unplug
                if ((error == EINTR || error == EAGAIN) && ++transientErrors < MAX_TRANSIENT_ERRORS
                        && port.bytesAvailable() >= 0) {
                    continue;
                }
                return "reading " + path + " failed (error " + error + ")";
            }
            transientErrors = 0;
            if (n > 0) {
                framer.feed(chunk, 0, n, deliver);
            } else if (port.bytesAvailable() < 0) {
                return path + " is gone";
            } else if (interCharMillis > 0 && framer.pending()) {
                framer.idle(deliver); // quiet for the inter-character timeout: the scan is complete
            }
        }
        return "closed";
    }

    @Override
    public void close() {
        reader.close(() -> {
            SerialPort port = current;
            if (port != null) {
                port.closePort();
            }
        }, "serial reader for " + path);
    }
}
