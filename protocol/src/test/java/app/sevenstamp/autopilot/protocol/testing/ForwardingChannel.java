package app.sevenstamp.autopilot.protocol.testing;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import org.h2.store.fs.FileBase;

/**
 * A file channel that passes every call to another: the base of the test file systems that watch,
 * record or hold some of the calls (override those). H2's {@link FileBase} supplies the rest of
 * {@link FileChannel}.
 */
public class ForwardingChannel extends FileBase {
    protected final FileChannel base;

    public ForwardingChannel(FileChannel base) {
        this.base = base;
    }

    @Override
    public int read(ByteBuffer dst) throws IOException {
        return base.read(dst);
    }

    @Override
    public int read(ByteBuffer dst, long position) throws IOException {
        return base.read(dst, position);
    }

    @Override
    public int write(ByteBuffer src) throws IOException {
        beforeWrite(src);
        return base.write(src);
    }

    @Override
    public int write(ByteBuffer src, long position) throws IOException {
        beforeWrite(src);
        return base.write(src, position);
    }

    /** Called before each write, either kind, with what it writes: a test's file system fails a write here. */
    protected void beforeWrite(ByteBuffer src) throws IOException {
    }

    @Override
    public long position() throws IOException {
        return base.position();
    }

    @Override
    public FileChannel position(long newPosition) throws IOException {
        base.position(newPosition);
        return this;
    }

    @Override
    public long size() throws IOException {
        return base.size();
    }

    @Override
    public FileChannel truncate(long size) throws IOException {
        base.truncate(size);
        return this;
    }

    @Override
    public void force(boolean metaData) throws IOException {
        base.force(metaData);
    }

    @Override
    public FileLock tryLock(long position, long size, boolean shared) throws IOException {
        return base.tryLock(position, size, shared);
    }

    @Override
    protected void implCloseChannel() throws IOException {
        base.close();
    }
}
