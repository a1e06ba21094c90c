package app.sevenstamp.autopilot.gateway.outbox;

import app.sevenstamp.autopilot.protocol.support.RedoLog;
import app.sevenstamp.autopilot.protocol.testing.ForwardingChannel;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.util.function.BooleanSupplier;
import org.h2.store.fs.FilePath;
import org.h2.store.fs.FilePathWrapper;

/**
 * The outbox's storage on the real files, except that while {@linkplain #failH2 H2 fails} every write
 * to H2's file and every open of it fails as on a full or failing disk ({@code jdbc:h2:failing:/path}),
 * and while {@linkplain #failRedo the redo log fails} its writes and syncs do. A test sees what the outbox
 * does when H2 closes after a write error and cannot be reopened, with or without a redo log to write.
 */
public final class FailingStorage extends FilePathWrapper {
    private static final String SCHEME = "failing";
    private static volatile boolean failing;
    private static volatile boolean redoFailing;
    private static volatile boolean copyFailing;

    static {
        FilePath.register(new FailingStorage());
    }

    /** For H2, which makes instances of a registered file system by reflection. */
    public FailingStorage() {
    }

    /** The outbox's storage: H2 through this file system, the redo log on the plain file. */
    static Outbox.Storage storage() {
        return new Outbox.Storage(SCHEME + ":", "", new RedoLog.FileOps() {
            @Override
            public FileChannel open(Path file) throws IOException {
                return new Failing(RedoLog.FILES.open(file), () -> redoFailing);
            }

            @Override
            public void replace(Path from, Path to) throws IOException {
                RedoLog.FILES.replace(from, to);
            }
        }, Outbox.REDO_REWRITE_BYTES);
    }

    /** From now on H2's writes and opens fail (true), or work again (false). */
    static void failH2(boolean fail) {
        failing = fail;
    }

    /** From now on the writes of a compaction's copy ({@code .mv.db.tempFile}) fail (true), or work again (false). */
    static void failCompactionCopy(boolean fail) {
        copyFailing = fail;
    }

    /** From now on the redo log's writes and syncs fail (true), or work again (false). */
    static void failRedo(boolean fail) {
        redoFailing = fail;
    }

    private boolean h2File() {
        return getBase().getName().endsWith(".mv.db");
    }

    private static IOException noSpace() {
        return new IOException("No space left on device (FailingStorage)");
    }

    @Override
    public String getScheme() {
        return SCHEME;
    }

    @Override
    public FileChannel open(String mode) throws IOException {
        if (failing && h2File()) {
            throw noSpace();
        }
        FileChannel channel = getBase().open(mode);
        if (getBase().getName().endsWith(".mv.db.tempFile")) {
            return new Failing(channel, () -> copyFailing);
        }
        return h2File() ? new Failing(channel, () -> failing) : channel;
    }

    /** A file whose writes and syncs fail while {@code fails} says so. */
    private static final class Failing extends ForwardingChannel {
        private final BooleanSupplier fails;

        Failing(FileChannel base, BooleanSupplier fails) {
            super(base);
            this.fails = fails;
        }

        @Override
        protected void beforeWrite(ByteBuffer src) throws IOException {
            if (fails.getAsBoolean()) {
                throw noSpace();
            }
        }

        @Override
        public void force(boolean metaData) throws IOException {
            if (fails.getAsBoolean()) {
                throw noSpace();
            }
            base.force(metaData);
        }
    }
}
