package app.sevenstamp.autopilot.gateway.outbox;

import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.h2.store.fs.FilePath;
import org.h2.store.fs.FilePathWrapper;

/**
 * A file system for H2 ({@code jdbc:h2:held:/path}) that passes everything to the real one, except that
 * while {@linkplain #arm armed} a rename blocks until {@linkplain #release released}. {@code SHUTDOWN
 * COMPACT} ends by renaming its rewritten copy over the store, so a test can hold a compaction right
 * there, as long as it likes, and see what the outbox does meanwhile.
 */
public final class HeldMoveFs extends FilePathWrapper {
    private static final String SCHEME = "held";
    private static volatile CountDownLatch reached = new CountDownLatch(1);
    private static volatile CountDownLatch release = new CountDownLatch(0);

    static {
        FilePath.register(new HeldMoveFs());
    }

    /** For H2, which makes instances of a registered file system by reflection. */
    public HeldMoveFs() {
    }

    /** The H2 URL prefix: {@code jdbc:h2:} + this + the path. */
    static String h2Prefix() {
        return SCHEME + ":";
    }

    /** The next renames block until {@link #release}. */
    static void arm() {
        reached = new CountDownLatch(1);
        release = new CountDownLatch(1);
    }

    /** Whether a rename is being held (waits up to {@code seconds} for one). */
    static boolean holding(long seconds) throws InterruptedException {
        return reached.await(seconds, TimeUnit.SECONDS);
    }

    /** Lets the held rename, and every later one, go on. */
    static void release() {
        release.countDown();
    }

    @Override
    public String getScheme() {
        return SCHEME;
    }

    @Override
    public void moveTo(FilePath newName, boolean atomicReplace) {
        reached.countDown();
        try {
            if (!release.await(60, TimeUnit.SECONDS)) {
                throw new IllegalStateException("a held rename was never released");
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while held", e);
        }
        super.moveTo(newName, atomicReplace);
    }
}
