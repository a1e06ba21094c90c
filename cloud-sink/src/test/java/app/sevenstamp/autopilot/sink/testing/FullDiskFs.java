package app.sevenstamp.autopilot.sink.testing;

import app.sevenstamp.autopilot.protocol.support.RedoLog;
import app.sevenstamp.autopilot.protocol.testing.ChannelFs;
import app.sevenstamp.autopilot.protocol.testing.ForwardingChannel;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.util.concurrent.atomic.AtomicLong;
import org.h2.store.fs.FilePath;

/**
 * A file system for H2 ({@code jdbc:h2:full:/path}, {@code SCRIPT TO 'full:/path'}) and the redo log
 * ({@link #fileOps}) on which the disk fills up: once
 * {@link #fillAfter} bytes more are written to files whose name ends with a given text, each further write to them
 * fails as a full disk does. Other files are written as usual.
 */
public final class FullDiskFs extends ChannelFs {
    private static final String SCHEME = "full";
    private static final AtomicLong ROOM = new AtomicLong(Long.MAX_VALUE);
    private static volatile String filling = "\u0000";

    static {
        FilePath.register(new FullDiskFs());
    }

    /** For H2, which makes instances of a registered file system by reflection. */
    public FullDiskFs() {
    }

    /** The H2 URL prefix of this file system: {@code jdbc:h2:} + this + the path. */
    public static String h2Prefix() {
        return SCHEME + ":";
    }

    /** From now on, files whose name ends with {@code suffix} have room for {@code bytes} more. */
    public static void fillAfter(String suffix, long bytes) {
        ROOM.set(bytes);
        filling = suffix;
    }

    /** Room again for every file. */
    public static void makeRoom() {
        filling = "\u0000";
        ROOM.set(Long.MAX_VALUE);
    }

    @Override
    public String getScheme() {
        return SCHEME;
    }

    /** File operations for a {@link RedoLog} on this file system. */
    public static RedoLog.FileOps fileOps() {
        return ChannelFs.fileOps(SCHEME);
    }

    @Override
    public FileChannel open(String mode) throws IOException {
        return new Filling(getBase().open(mode), getBase().getName());
    }

    /** A file whose writes fail once the disk is full, if its name is among those that fill it (asked at each write). */
    private static final class Filling extends ForwardingChannel {
        private final String name;

        Filling(FileChannel base, String name) {
            super(base);
            this.name = name;
        }

        @Override
        protected void beforeWrite(ByteBuffer src) throws IOException {
            if (name.endsWith(filling) && ROOM.addAndGet(-src.remaining()) < 0) {
                throw new IOException("No space left on device (the test's)");
            }
        }
    }
}
