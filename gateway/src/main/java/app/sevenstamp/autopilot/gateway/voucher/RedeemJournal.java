package app.sevenstamp.autopilot.gateway.voucher;

import app.sevenstamp.autopilot.protocol.MalformedMessageException;
import app.sevenstamp.autopilot.protocol.RedeemRequest;
import app.sevenstamp.autopilot.protocol.WireCodec;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Objects;
import java.util.regex.Pattern;
import org.tinylog.Logger;

/**
 * The REDEEM requests the sink may have carried out although the counter has not seen them accepted, kept
 * durably so that their CANCEL survives a power cut (a request from a previous run can never be honoured at
 * the counter, so everything found here at start is to be cancelled).
 *
 * <p>One small file per request ({@code <requestId>.req}, the REDEEM as the wire JSON) in its own directory.
 * A record is written to a temporary file, fsynced, renamed and the directory fsynced <em>before</em> the
 * REDEEM is published; it is deleted (directory fsynced) when the outcome is final: an answer in time, or the
 * sink's CANCELLED. Files rather than a table in the outbox's H2 database so that a voucher scan never queues
 * behind the outbox's owner thread (stamps) and the two stores cannot damage each other. Not thread-safe:
 * the voucher desk's thread owns it.
 */
final class RedeemJournal {
    private static final String SUFFIX = ".req";
    private static final Pattern ID = Pattern.compile("[0-9a-fA-F-]{1,64}");

    private final Path dir;
    private final WireCodec codec = new WireCodec();
    private final List<RedeemRequest> loaded;
    private int size;
    private long syncNanos;
    private long syncs;

    private RedeemJournal(Path dir, List<RedeemRequest> loaded) {
        this.dir = dir;
        this.loaded = List.copyOf(loaded);
        this.size = loaded.size();
    }

    /**
     * Creates the directory if needed and reads what a previous run left. A file that cannot be read is moved
     * aside ({@code .bad}) with an error naming it, never deleted: staff can still check that voucher.
     */
    static RedeemJournal open(Path dir) throws IOException {
        Objects.requireNonNull(dir, "dir");
        Files.createDirectories(dir);
        WireCodec codec = new WireCodec();
        List<RedeemRequest> found = new ArrayList<>();
        try (DirectoryStream<Path> files = Files.newDirectoryStream(dir)) {
            for (Path f : files) {
                String name = f.getFileName().toString();
                if (name.endsWith(".tmp")) {
                    Files.deleteIfExists(f); // cut off before its rename: that REDEEM was never published
                    continue;
                }
                if (!name.endsWith(SUFFIX)) {
                    continue;
                }
                try {
                    RedeemRequest r = codec.decode(Files.readAllBytes(f), RedeemRequest.class);
                    if (!name.equals(r.requestId() + SUFFIX) || r.action() != RedeemRequest.Action.REDEEM) {
                        throw new MalformedMessageException("content", "file name and request do not match", null);
                    }
                    found.add(r);
                } catch (MalformedMessageException e) {
                    Path bad = f.resolveSibling(name + ".bad");
                    Files.move(f, bad, StandardCopyOption.REPLACE_EXISTING);
                    Logger.error("unreadable voucher request record {} ({}), moved to {}: its CANCEL cannot be sent; "
                            + "check that box's recent vouchers in the sink", f, e.getMessage(), bad);
                }
            }
        }
        found.sort(Comparator.comparing(RedeemRequest::requestId)); // UUIDv7: oldest first
        return new RedeemJournal(dir, found);
    }

    /** The records a previous run left, oldest first: all to be cancelled. */
    List<RedeemRequest> loaded() {
        return loaded;
    }

    /** Records currently held. */
    int size() {
        return size;
    }

    /** Durably records a REDEEM before it is published; on an exception nothing may be published. */
    void record(RedeemRequest redeem) throws IOException {
        String id = checkedId(redeem.requestId());
        long start = System.nanoTime();
        Path tmp = dir.resolve(id + ".tmp");
        try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                StandardOpenOption.TRUNCATE_EXISTING)) {
            ByteBuffer b = ByteBuffer.wrap(codec.encode(redeem));
            while (b.hasRemaining()) {
                ch.write(b);
            }
            ch.force(true);
        }
        Files.move(tmp, dir.resolve(id + SUFFIX), StandardCopyOption.ATOMIC_MOVE);
        syncDirectory();
        size++;
        timed(start);
    }

    /** Durably forgets a request whose outcome is final; a missing record is no error. */
    void remove(String requestId) throws IOException {
        long start = System.nanoTime();
        if (Files.deleteIfExists(dir.resolve(checkedId(requestId) + SUFFIX))) {
            size--;
            syncDirectory(); // else a power cut could bring the record back and cancel a handed-over reward
        }
        timed(start);
    }

    /** Mean time of one record or remove, with its fsyncs, in microseconds; 0 before the first. */
    long meanSyncMicros() {
        return syncs == 0 ? 0 : syncNanos / syncs / 1000;
    }

    private void timed(long start) {
        syncNanos += System.nanoTime() - start;
        syncs++;
    }

    private static String checkedId(String id) {
        if (!ID.matcher(id).matches()) {
            throw new IllegalArgumentException("request id '" + id + "' is not a UUID");
        }
        return id;
    }

    /** A new or deleted name is durable only once its directory is fsynced. */
    private void syncDirectory() {
        try (FileChannel d = FileChannel.open(dir, StandardOpenOption.READ)) {
            d.force(true);
        } catch (IOException e) {
            // some file systems refuse to open a directory (as in the outbox); the file's own fsync still ran
            Logger.debug("cannot fsync the directory {}: {}", dir, e.toString());
        }
    }
}
