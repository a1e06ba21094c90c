package app.sevenstamp.autopilot.protocol.support;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;
import java.util.zip.CRC32C;

/**
 * An append-only file of records, each batch made durable by {@code fdatasync} before {@link #append}
 * returns: the durable record of writes that H2 alone cannot be trusted to keep across a crash
 * (docs/durability.md: H2 2.5 loses synced commits after RETENTION_TIME, and can roll back to an
 * older state after the first clean close that follows a crash).
 *
 * <p>Format: records one after the other, each {@code [int length][int crc32c][length bytes]}, the
 * checksum over the length and the bytes. At open the records are checked; the first one that is
 * short, out of range or fails its checksum ends the log (a torn or never-synced tail) and the file is
 * cut there, so that later appends do not follow garbage. A zero-filled region (a file extended but
 * not written before a power cut) fails the length check. {@link #rewrite} replaces the whole log
 * atomically (new file, fsync, rename, fsync of the directory), so a crash leaves the old or the new.
 *
 * <p>Not thread-safe: its owner (one thread) calls it.
 */
public final class RedoLog implements AutoCloseable {
    /** A record larger than this is refused on append and ends the log on read. */
    public static final int MAX_RECORD_BYTES = 1 << 20;
    private static final int HEADER = 8;

    /** How the log's files are opened and replaced: the real file system, or a test's recording one. */
    public interface FileOps {
        FileChannel open(Path file) throws IOException;

        /** Renames {@code from} over {@code to} atomically and makes the rename durable. */
        void replace(Path from, Path to) throws IOException;
    }

    /** The real file system. */
    public static final FileOps FILES = new FileOps() {
        @Override
        public FileChannel open(Path file) throws IOException {
            return FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.READ, StandardOpenOption.WRITE);
        }

        @Override
        public void replace(Path from, Path to) throws IOException {
            Files.move(from, to, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            try (FileChannel dir = FileChannel.open(to.toAbsolutePath().getParent(), StandardOpenOption.READ)) {
                dir.force(true);
            } catch (IOException e) {
                // some file systems refuse to open a directory: the rename is then as durable as they make it
            }
        }
    };

    /** Receives records in log order. */
    @FunctionalInterface
    public interface Reader<E extends Exception> {
        void record(byte[] record) throws E;
    }

    /**
     * Receives records in log order as a view of the log's read buffer: {@code length} bytes at {@code offset} of
     * {@code buffer}, valid during the call only (the next record may overwrite them). Saves the copy of every record
     * that {@link Reader} gets: a box's start reads its log three times, 50 MB each at 100,000 waiting.
     */
    @FunctionalInterface
    public interface ViewReader<E extends Exception> {
        void record(byte[] buffer, int offset, int length) throws E;
    }

    private final Path file;
    private final FileOps ops;
    private final long cutBytes;
    private FileChannel channel;
    private long end;

    private RedoLog(Path file, FileOps ops, FileChannel channel, long end, long cutBytes) {
        this.file = file;
        this.ops = ops;
        this.channel = channel;
        this.end = end;
        this.cutBytes = cutBytes;
    }

    /** Opens (or creates) the log; a torn tail is cut off (and the cut synced) before this returns. */
    public static RedoLog open(Path file, FileOps ops) throws IOException {
        Objects.requireNonNull(file, "file");
        FileChannel channel = ops.open(file);
        try {
            long size = channel.size();
            long valid = scan(channel, size, null);
            if (valid < size) {
                channel.truncate(valid);
                channel.force(true);
            }
            return new RedoLog(file, ops, channel, valid, size - valid);
        } catch (IOException | RuntimeException e) {
            channel.close();
            throw e;
        }
    }

    /** A reader of views that hands {@code reader} a copy of each record. */
    private static <E extends Exception> ViewReader<E> copying(Reader<E> reader) {
        return (buffer, offset, length) -> reader.record(Arrays.copyOfRange(buffer, offset, offset + length));
    }

    /** Reads the records from the start up to {@code size}; returns where the whole records end. */
    private static <E extends Exception> long scan(FileChannel channel, long size, ViewReader<E> reader)
            throws IOException, E {
        return scan(channel, 0, size, reader);
    }

    private static <E extends Exception> long scan(FileChannel channel, long from, long size, ViewReader<E> reader)
            throws IOException, E {
        ReadAhead in = new ReadAhead(channel, size);
        CRC32C crc = new CRC32C();
        long pos = from;
        while (in.holds(pos, HEADER)) {
            int at = in.offset(pos);
            int length = in.buffer.getInt(at);
            int expected = in.buffer.getInt(at + 4);
            if (length <= 0 || length > MAX_RECORD_BYTES || pos + HEADER + length > size || !in.holds(pos, HEADER + length)) {
                break;
            }
            at = in.offset(pos);
            byte[] bytes = in.buffer.array();
            crc.reset();
            crc.update(bytes, at, 4);
            crc.update(bytes, at + HEADER, length);
            if ((int) crc.getValue() != expected) {
                break;
            }
            if (reader != null) {
                reader.record(bytes, at + HEADER, length);
            }
            pos += HEADER + length;
        }
        return pos;
    }

    /**
     * The log's bytes read a window at a time: one read for many records instead of two for each (100,000
     * records were 200,000 reads, a fifth of a second at every one of a box's three reads of its log at start).
     */
    private static final class ReadAhead {
        private static final int WINDOW = 64 * 1024;
        private final FileChannel channel;
        private final long size;
        private ByteBuffer buffer = ByteBuffer.allocate(WINDOW);
        /** Where in the file the buffer's first byte is, and how many of its bytes were read. */
        private long start;
        private int filled;

        ReadAhead(FileChannel channel, long size) {
            this.channel = channel;
            this.size = size;
        }

        /** True once the buffer holds {@code [pos, pos + need)}; false where the log (up to its size) ends first. */
        boolean holds(long pos, int need) throws IOException {
            if (pos >= start && pos + need <= start + filled) {
                return true;
            }
            if (buffer.capacity() < need) {
                buffer = ByteBuffer.allocate(need); // a record longer than the window: at most MAX_RECORD_BYTES
            }
            buffer.clear();
            buffer.limit((int) Math.min(buffer.capacity(), size - pos));
            start = pos;
            filled = readFully(channel, buffer, pos);
            return filled >= need;
        }

        int offset(long pos) {
            return (int) (pos - start);
        }
    }

    private static int readFully(FileChannel channel, ByteBuffer into, long pos) throws IOException {
        int total = 0;
        while (into.hasRemaining()) {
            int n = channel.read(into, pos + total);
            if (n < 0) {
                break;
            }
            total += n;
        }
        return total;
    }

    /** Streams every record, oldest first (the log is not held in memory: it may hold a long backlog). */
    public <E extends Exception> void read(Reader<E> reader) throws IOException, E {
        scan(channel, end, copying(reader));
    }

    /**
     * Streams the records from byte {@code from} on, oldest first: a size {@link #bytes()} gave since the last
     * rewrite, so a record begins there (anywhere else, the first checksum fails and nothing is read).
     */
    public <E extends Exception> void readFrom(long from, Reader<E> reader) throws IOException, E {
        if (from < 0 || from > end) {
            throw new IllegalArgumentException("offset " + from + " is outside the log's " + end + " bytes");
        }
        scan(channel, from, end, copying(reader));
    }

    /**
     * The records written so far, to be read later, from another thread too, while appends go on behind
     * them (positional reads never meet a positional write past them). A rewrite of the log must not run
     * before the prefix is read: it replaces the file.
     */
    public Prefix prefix() {
        return new Prefix(channel, end);
    }

    /** A fixed prefix of the log: see {@link #prefix()}. */
    public static final class Prefix {
        private final FileChannel channel;
        private final long end;

        private Prefix(FileChannel channel, long end) {
            this.channel = channel;
            this.end = end;
        }

        /** Streams the prefix's records, oldest first. */
        public <E extends Exception> void read(Reader<E> reader) throws IOException, E {
            scan(channel, end, copying(reader));
        }

        /** Streams the prefix's records, oldest first, as views ({@link ViewReader}). */
        public <E extends Exception> void readViews(ViewReader<E> reader) throws IOException, E {
            scan(channel, end, reader);
        }
    }

    /** Bytes cut off at open (a torn or unsynced tail); 0 normally. */
    public long cutAtOpen() {
        return cutBytes;
    }

    /**
     * Writes the records in one write at the end of the log; with {@code sync}, returns only after
     * {@code fdatasync}, so they survive a power cut. Without it they survive a killed process only.
     * On an I/O error the log is cut back to where it was, so a half-written batch never precedes a
     * later one.
     */
    public void append(List<byte[]> batch, boolean sync) throws IOException {
        if (batch.isEmpty()) {
            return;
        }
        ByteBuffer buf = encode(batch);
        try {
            writeFully(channel, buf, end);
            if (sync) {
                channel.force(false);
            }
        } catch (IOException e) {
            try {
                channel.truncate(end);
            } catch (IOException ignored) {
                // the next open cuts whatever half record is left: its checksum fails
            }
            throw e;
        }
        end += buf.limit();
    }

    private static ByteBuffer encode(List<byte[]> batch) {
        int total = 0;
        for (byte[] r : batch) {
            if (r.length == 0 || r.length > MAX_RECORD_BYTES) {
                throw new IllegalArgumentException("a redo record must have 1 to " + MAX_RECORD_BYTES + " bytes, not "
                        + r.length);
            }
            total += HEADER + r.length;
        }
        ByteBuffer buf = ByteBuffer.allocate(total);
        CRC32C crc = new CRC32C();
        for (byte[] r : batch) {
            int at = buf.position();
            buf.putInt(r.length);
            crc.reset();
            crc.update(buf.array(), at, 4);
            crc.update(r);
            buf.putInt((int) crc.getValue());
            buf.put(r);
        }
        return buf.flip();
    }

    private static void writeFully(FileChannel channel, ByteBuffer buf, long pos) throws IOException {
        long at = pos;
        while (buf.hasRemaining()) {
            at += channel.write(buf, at);
        }
    }

    /** Starts a replacement of the whole log; nothing changes until {@link Rewrite#commit}. */
    public Rewrite rewrite() throws IOException {
        Path next = file.resolveSibling(file.getFileName() + ".new");
        return new Rewrite(next, ops.open(next));
    }

    /** A new log being written beside the old one. */
    public final class Rewrite implements AutoCloseable {
        private final Path next;
        private final FileChannel out;
        private long size;
        private boolean done;

        private Rewrite(Path next, FileChannel out) throws IOException {
            this.next = next;
            this.out = out;
            out.truncate(0); // a leftover of an earlier rewrite that crashed
        }

        public void add(List<byte[]> records) throws IOException {
            if (records.isEmpty()) {
                return;
            }
            ByteBuffer buf = encode(records);
            writeFully(out, buf, size);
            size += buf.limit();
        }

        /** Syncs the new log, renames it over the old one (durably) and appends to it from now on. */
        public void commit() throws IOException {
            out.force(true);
            out.close();
            ops.replace(next, file); // on failure the old log is still open and whole
            done = true;
            end = size;
            channel.close();
            channel = ops.open(file); // if this fails, appends fail (closed channel) until the log is reopened

        }

        /** Drops an uncommitted rewrite; the old log stays as it was. */
        @Override
        public void close() throws IOException {
            if (!done) {
                out.close();
                Files.deleteIfExists(next);
            }
        }
    }

    /** False after a failed rewrite left no file to append to: open the log again. */
    public boolean isOpen() {
        return channel.isOpen();
    }

    /** Writes one record's fields. */
    @FunctionalInterface
    public interface RecordWriter {
        void write(java.io.DataOutputStream out) throws IOException;
    }

    /** A record's bytes, written field by field. */
    public static byte[] record(RecordWriter writer) {
        java.io.ByteArrayOutputStream bytes = new java.io.ByteArrayOutputStream(256);
        try (java.io.DataOutputStream out = new java.io.DataOutputStream(bytes)) {
            writer.write(out);
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e); // a byte array does not fail
        }
        return bytes.toByteArray();
    }

    /** Bytes in the log now. */
    public long bytes() {
        return end;
    }

    public Path file() {
        return file;
    }

    @Override
    public void close() throws IOException {
        channel.close();
    }
}
