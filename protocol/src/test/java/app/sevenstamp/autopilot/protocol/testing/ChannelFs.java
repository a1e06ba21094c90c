package app.sevenstamp.autopilot.protocol.testing;

import app.sevenstamp.autopilot.protocol.support.RedoLog;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.channels.Channels;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import org.h2.store.fs.FilePath;
import org.h2.store.fs.FilePathWrapper;

/**
 * An H2 file system whose files a test wraps in channels of its own ({@link #open}): what H2 writes as a stream
 * ({@code SCRIPT TO}, {@code BACKUP}) goes through those channels too, and so does a {@link RedoLog} given
 * {@link #fileOps}.
 */
public abstract class ChannelFs extends FilePathWrapper {
    /** Through {@link #open}, so that what H2 writes as a stream goes through the test's channel. */
    @Override
    public OutputStream newOutputStream(boolean append) throws IOException {
        FileChannel channel = open("rw");
        if (append) {
            channel.position(channel.size());
        } else {
            channel.truncate(0);
        }
        return Channels.newOutputStream(channel);
    }

    /** File operations for a {@link RedoLog} on the registered file system {@code scheme}. */
    public static RedoLog.FileOps fileOps(String scheme) {
        return new RedoLog.FileOps() {
            @Override
            public FileChannel open(Path file) throws IOException {
                return FilePath.get(scheme + ":" + file).open("rw");
            }

            @Override
            public void replace(Path from, Path to) {
                FilePath.get(scheme + ":" + from).moveTo(FilePath.get(scheme + ":" + to), true);
            }
        };
    }
}
