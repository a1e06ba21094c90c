package app.sevenstamp.autopilot.gateway.scan;

import app.sevenstamp.autopilot.protocol.support.NamedThreads;
import java.io.IOException;
import java.io.InputStream;
import java.util.Objects;
import java.util.function.Consumer;
import org.tinylog.Logger;

/**
 * Scans typed or piped into standard input: the demo, a laptop, a keyboard-wedge scanner on a console.
 * At end of input the daemon keeps running (the uplink may still have a backlog to send); it logs once.
 *
 * <p>Threading: one daemon reader thread ({@code scanner-stdin}) owns the framer. A read from
 * {@code System.in} cannot be interrupted, so {@link #close()} only stops delivery; the daemon thread
 * dies with the JVM.
 */
public final class StdinScanSource implements ScanSource {
    private final InputStream in;
    private final Framer framer;
    private final Consumer<Frame> frames;
    private volatile boolean closed;

    public StdinScanSource(InputStream in, Framer framer, Consumer<Frame> frames) {
        this.in = Objects.requireNonNull(in, "in");
        this.framer = Objects.requireNonNull(framer, "framer");
        this.frames = Objects.requireNonNull(frames, "frames");
    }

    @Override
    public void start() {
        NamedThreads.daemon("scanner-stdin").newThread(this::readLoop).start();
    }

    @Override
    public String describe() {
        return "stdin";
    }

    private void readLoop() {
        byte[] chunk = new byte[512];
        Consumer<Frame> deliver = frame -> {
            if (!closed) {
                frames.accept(frame);
            }
        };
        try {
            int n;
            while (!closed && (n = in.read(chunk)) >= 0) {
                framer.feed(chunk, 0, n, deliver);
            }
            framer.finish(deliver);
            if (!closed) {
                Logger.info("stdin reached end of input; no more scans from stdin, the gateway keeps running");
            }
        } catch (IOException e) {
            if (!closed) {
                Logger.warn("reading stdin failed ({}); no more scans from stdin, the gateway keeps running", e.toString());
            }
        }
    }

    @Override
    public void close() {
        closed = true;
    }
}
