package app.sevenstamp.autopilot.protocol.testing;

import app.sevenstamp.autopilot.protocol.support.RedoLog;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.h2.store.fs.FilePath;
import org.h2.store.fs.FilePathWrapper;

/**
 * A file system for H2 ({@code jdbc:h2:cut:/path}) and the redo log that passes everything to the real
 * one and records every write, truncate and sync, so that a test can ask: what would be on the disk
 * if the power went out after operation {@code k}? (The ALICE / CrashMonkey / LazyFS idea.)
 *
 * <p>The model: a file's content is durable up to its last sync; the writes and truncates since then
 * were in the page cache, and a power cut keeps any subset of them, the last kept write possibly torn
 * at a 512-byte sector. Directory operations (create, rename, delete) are taken as durable at once,
 * which is kinder than a real file system only for names: the contents behind a renamed name still
 * lose what was not synced. A file's creation is recorded when it is opened through this file system
 * and did not exist.
 */
public final class PowerCutFs extends ChannelFs {
    private static final String SCHEME = "cut";
    private static final int SECTOR = 512;
    private static final Recorder RECORDER = new Recorder();

    static {
        FilePath.register(new PowerCutFs());
    }

    /** For H2, which makes instances of a registered file system by reflection. */
    public PowerCutFs() {
    }

    /** The recorder; the file system is registered once per JVM (by loading this class). */
    public static Recorder recorder() {
        return RECORDER;
    }

    /** The H2 URL prefix of this file system: {@code jdbc:h2:} + this + the path. */
    public static String h2Prefix() {
        return SCHEME + ":";
    }

    /** File operations for a {@link RedoLog} that go through the recorder too. */
    public static RedoLog.FileOps fileOps() {
        return ChannelFs.fileOps(SCHEME);
    }

    @Override
    public String getScheme() {
        return SCHEME;
    }

    @Override
    public FileChannel open(String mode) throws IOException {
        if (!getBase().exists()) {
            RECORDER.add(new Op(Kind.CREATE, getBase().toString(), 0, null, null));
        }
        return new Recording(getBase().open(mode), getBase().toString());
    }

    @Override
    public void moveTo(FilePath newName, boolean atomicReplace) {
        RECORDER.add(new Op(Kind.MOVE, getBase().toString(), 0, null, ((FilePathWrapper) newName).unwrap().toString()));
        super.moveTo(newName, atomicReplace);
    }

    @Override
    public void delete() {
        RECORDER.add(new Op(Kind.DELETE, getBase().toString(), 0, null, null));
        super.delete();
    }

    public enum Kind { CREATE, WRITE, TRUNCATE, SYNC, MOVE, DELETE }

    /** One recorded operation; {@code target} is the new name of a MOVE. */
    public record Op(Kind kind, String file, long pos, byte[] data, String target) {
    }

    /** Every operation, in order, from every thread. */
    public static final class Recorder {
        private final List<Op> ops = new ArrayList<>();

        synchronized void add(Op op) {
            ops.add(op);
        }

        public synchronized int size() {
            return ops.size();
        }

        public synchronized List<Op> since(int from) {
            return List.copyOf(ops.subList(from, ops.size()));
        }
    }

    private static final class Recording extends ForwardingChannel {
        private final String file;

        Recording(FileChannel base, String file) {
            super(base);
            this.file = file;
        }

        @Override
        public int write(ByteBuffer src) throws IOException {
            return write(src, base.position());
        }

        @Override
        public synchronized int write(ByteBuffer src, long position) throws IOException {
            ByteBuffer copy = src.duplicate();
            int n = base.write(src, position);
            byte[] data = new byte[n];
            copy.get(data);
            RECORDER.add(new Op(Kind.WRITE, file, position, data, null));
            if (base.position() < position + n) {
                base.position(position + n);
            }
            return n;
        }

        @Override
        public synchronized FileChannel truncate(long size) throws IOException {
            if (size < base.size()) {
                RECORDER.add(new Op(Kind.TRUNCATE, file, size, null, null));
            }
            base.truncate(size);
            return this;
        }

        @Override
        public void force(boolean metaData) throws IOException {
            base.force(metaData);
            RECORDER.add(new Op(Kind.SYNC, file, 0, null, null));
        }
    }

    /**
     * The op index just after the last sync of the file named {@code fileName} among {@code ops[0, before)}:
     * from there on, what was written to it before that sync survives any cut.
     */
    public static int afterLastSync(List<Op> ops, int before, String fileName) {
        for (int i = before - 1; i >= 0; i--) {
            if (ops.get(i).kind() == Kind.SYNC && Path.of(ops.get(i).file()).getFileName().toString().equals(fileName)) {
                return i + 1;
            }
        }
        throw new AssertionError("no sync of " + fileName + " before op " + before);
    }

    /** Deletes a cut's image, and whatever the store that opened it wrote there, once it was checked. */
    public static void deleteImage(Path image) throws IOException {
        try (java.util.stream.Stream<Path> paths = Files.walk(image)) {
            for (Path p : paths.sorted(java.util.Comparator.reverseOrder()).toList()) {
                Files.delete(p);
            }
        }
    }

    /** A random source whose every draw keeps the write: {@link Disk#cut} then loses nothing. */
    private static final class AllWrites extends Random {
        @Override
        public int nextInt(int bound) {
            return 0;
        }
    }

    /**
     * Replays recorded operations and, at any point, writes what a power cut would leave on the disk.
     * Files start as they were when the recording began (empty directory: no files).
     */
    public static final class Disk {
        private final Map<String, byte[]> durable = new HashMap<>();
        private final Map<String, List<Op>> pending = new HashMap<>();

        public void apply(Op op) {
            switch (op.kind()) {
                case CREATE -> durable.putIfAbsent(op.file(), new byte[0]);
                case WRITE, TRUNCATE -> {
                    durable.putIfAbsent(op.file(), new byte[0]);
                    pending.computeIfAbsent(op.file(), f -> new ArrayList<>()).add(op);
                }
                case SYNC -> {
                    byte[] content = durable.getOrDefault(op.file(), new byte[0]);
                    for (Op p : pending.getOrDefault(op.file(), List.of())) {
                        content = applyTo(content, p, Integer.MAX_VALUE);
                    }
                    durable.put(op.file(), content);
                    pending.remove(op.file());
                }
                case MOVE -> {
                    byte[] content = durable.remove(op.file());
                    List<Op> unsynced = pending.remove(op.file());
                    durable.put(op.target(), content == null ? new byte[0] : content);
                    pending.remove(op.target());
                    if (unsynced != null) {
                        List<Op> moved = new ArrayList<>();
                        for (Op p : unsynced) {
                            moved.add(new Op(p.kind(), op.target(), p.pos(), p.data(), null));
                        }
                        pending.put(op.target(), moved);
                    }
                }
                case DELETE -> {
                    durable.remove(op.file());
                    pending.remove(op.file());
                }
            }
        }

        /**
         * {@link #cut} with the subset drawn from {@code seed}; or, with {@code killNine}, every unsynced write
         * kept: what kill -9 leaves, since every write reached the page cache.
         */
        public void cut(Path into, boolean killNine, long seed) throws IOException {
            cut(into, killNine ? new AllWrites() : new Random(seed));
        }

        /**
         * Writes every file as a power cut now would leave it into {@code into} (same file names, flat):
         * the durable content plus a random subset of the unsynced writes, one of them maybe torn.
         */
        public void cut(Path into, Random random) throws IOException {
            for (Map.Entry<String, byte[]> e : durable.entrySet()) {
                byte[] content = e.getValue();
                List<Op> unsynced = pending.getOrDefault(e.getKey(), List.of());
                for (Op p : unsynced) {
                    int roll = random.nextInt(8);
                    if (roll < 4) {
                        content = applyTo(content, p, Integer.MAX_VALUE); // reached the disk
                    } else if (roll == 4 && p.kind() == Kind.WRITE) {
                        content = applyTo(content, p, SECTOR * random.nextInt(1 + p.data().length / SECTOR)); // torn
                    } // else lost
                }
                Files.write(into.resolve(Path.of(e.getKey()).getFileName()), content);
            }
        }

        private static byte[] applyTo(byte[] content, Op op, int keep) {
            if (op.kind() == Kind.TRUNCATE) {
                return op.pos() < content.length ? java.util.Arrays.copyOf(content, (int) op.pos()) : content;
            }
            int n = Math.min(keep, op.data().length);
            long end = op.pos() + n;
            byte[] out = end > content.length ? java.util.Arrays.copyOf(content, (int) end) : content.clone();
            System.arraycopy(op.data(), 0, out, (int) op.pos(), n);
            return out;
        }
    }
}
