package app.sevenstamp.autopilot.gateway.outbox;

import app.sevenstamp.autopilot.protocol.support.RedoLog;
import app.sevenstamp.autopilot.protocol.testing.ForwardingChannel;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.h2.store.fs.FilePath;
import org.h2.store.fs.FilePathWrapper;

/**
 * The outbox's storage on the real files, except that while {@linkplain #arm armed} the outbox's long
 * housekeeping blocks at a known step until {@linkplain #release released}: a compaction at the rename
 * that ends its copy of the file ({@link H2FileRewrite}; an H2 file system, {@code jdbc:h2:held:/path}), a rewrite of the
 * redo log at its first write into the new log. A test can hold either as long as it likes and see what
 * the outbox does meanwhile.
 */
public final class HeldStorage extends FilePathWrapper {
    private static final String SCHEME = "held";
    private static volatile CountDownLatch reached = new CountDownLatch(1);
    private static volatile CountDownLatch release = new CountDownLatch(0);

    static {
        FilePath.register(new HeldStorage());
    }

    /** For H2, which makes instances of a registered file system by reflection. */
    public HeldStorage() {
    }

    /** The outbox's storage; {@code redoRewriteBytes} as in {@link Outbox.Storage}. */
    static Outbox.Storage storage(long redoRewriteBytes) {
        return new Outbox.Storage(SCHEME + ":", "", new RedoLog.FileOps() {
            @Override
            public FileChannel open(Path file) throws IOException {
                FileChannel channel = RedoLog.FILES.open(file);
                return file.getFileName().toString().endsWith(".new") ? new HeldWrites(channel) : channel;
            }

            @Override
            public void replace(Path from, Path to) throws IOException {
                RedoLog.FILES.replace(from, to);
            }
        }, redoRewriteBytes);
    }

    /** The next compaction or log rewrite blocks until {@link #release}. */
    static void arm() {
        reached = new CountDownLatch(1);
        release = new CountDownLatch(1);
    }

    /** Whether one is being held (waits up to {@code seconds} for one). */
    static boolean holding(long seconds) throws InterruptedException {
        return reached.await(seconds, TimeUnit.SECONDS);
    }

    /** Lets the held step, and every later one, go on. */
    static void release() {
        release.countDown();
    }

    private static void hold() {
        reached.countDown();
        try {
            if (!release.await(60, TimeUnit.SECONDS)) {
                throw new IllegalStateException("a held step was never released");
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while held", e);
        }
    }

    @Override
    public String getScheme() {
        return SCHEME;
    }

    @Override
    public void moveTo(FilePath newName, boolean atomicReplace) {
        hold();
        super.moveTo(newName, atomicReplace);
    }

    /** The new redo log of a rewrite: its writes wait while held. */
    private static final class HeldWrites extends ForwardingChannel {
        HeldWrites(FileChannel base) {
            super(base);
        }

        @Override
        public int write(ByteBuffer src, long position) throws IOException {
            hold();
            return base.write(src, position);
        }
    }
}
