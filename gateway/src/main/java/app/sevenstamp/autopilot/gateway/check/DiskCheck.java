package app.sevenstamp.autopilot.gateway.check;

import app.sevenstamp.autopilot.gateway.outbox.OutboxLimits;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.FileStore;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Optional;

/**
 * The outbox's disk: free space against the outbox limits, a timed write + fsync of a temporary file in
 * the outbox folder (every stamp waits for one), and what the folder is stored on, from
 * {@code /proc/self/mountinfo} (the mount's major:minor) and {@code /sys/dev/block/MAJ:MIN} (the block
 * device, and for an MMC device its {@code device/type}: SD or MMC, i.e. eMMC).
 */
final class DiskCheck implements Check {
    /** Above this a sync is slow enough to notice at the counter. */
    static final long SLOW_SYNC_MS = 250;
    static final int PROBE_BYTES = 4096;

    private final Path outboxDir;
    private final OutboxLimits limits;
    private final Path root;

    /** @param root where {@code proc} and {@code sys} are ({@code /} on the box) */
    DiskCheck(Path outboxDir, OutboxLimits limits, Path root) {
        this.outboxDir = outboxDir;
        this.limits = limits;
        this.root = root;
    }

    @Override
    public List<CheckLine> run() {
        List<CheckLine> lines = new ArrayList<>();
        Path dir = outboxDir.toAbsolutePath().normalize();
        Path existing = dir;
        while (existing != null && !Files.isDirectory(existing)) {
            if (Files.exists(existing)) {
                // the gateway could never create the outbox below a file
                return List.of(CheckLine.fail("outbox disk", existing + " is a file, so the outbox " + dir
                        + " cannot be created; move it away or set outbox.dir"));
            }
            existing = existing.getParent();
        }
        if (existing == null) {
            return List.of(CheckLine.fail("outbox disk", "no part of " + dir + " exists"));
        }
        String where = existing.equals(dir) ? dir.toString() : dir + " (not created yet; its disk is " + existing + "'s)";
        try {
            FileStore store = Files.getFileStore(existing);
            long free = store.getUsableSpace();
            String text = where + ": " + size(free) + " free of " + size(store.getTotalSpace()) + " (" + store.type() + ")";
            if (free < limits.minFreeBytes()) {
                lines.add(CheckLine.fail("outbox disk", text + ", below outbox.minFreeBytes " + size(limits.minFreeBytes())
                        + ": scans would be refused; free some space"));
            } else if (free < limits.minFreeBytes() + limits.maxBytes()) {
                lines.add(CheckLine.warn("outbox disk", text + ": the outbox may grow to outbox.maxBytes "
                        + size(limits.maxBytes()) + " and keep " + size(limits.minFreeBytes()) + " free; it will stop early"));
            } else {
                lines.add(CheckLine.ok("outbox disk", text));
            }
        } catch (IOException | SecurityException e) {
            lines.add(CheckLine.fail("outbox disk", where + ": " + e));
        }
        lines.add(fsync(existing));
        lines.add(medium(existing));
        return lines;
    }

    private CheckLine fsync(Path dir) {
        Path probe = null;
        try {
            probe = Files.createTempFile(dir, ".check-", ".tmp");
            long start = System.nanoTime();
            try (FileChannel c = FileChannel.open(probe, StandardOpenOption.WRITE)) {
                ByteBuffer b = ByteBuffer.allocate(PROBE_BYTES);
                while (b.hasRemaining()) {
                    c.write(b);
                }
                c.force(true);
            }
            long ms = (System.nanoTime() - start) / 1_000_000;
            String text = PROBE_BYTES / 1024 + " KB written and synced in " + ms + " ms in " + dir;
            return ms > SLOW_SYNC_MS ? CheckLine.warn("outbox fsync", text + ": slow, each stamp waits for a sync; "
                    + "a better SD card or a USB SSD helps") : CheckLine.ok("outbox fsync", text);
        } catch (IOException | SecurityException e) {
            return CheckLine.fail("outbox fsync", "cannot write and sync a file in " + dir + ": " + e
                    + " (the service user must own the outbox folder; is the disk read-only or full?)");
        } finally {
            if (probe != null) {
                try {
                    Files.deleteIfExists(probe);
                } catch (IOException e) {
                    // a leftover probe file is harmless; the next check makes another
                }
            }
        }
    }

    private CheckLine medium(Path dir) {
        Optional<String[]> mount = mountOf(dir);
        if (mount.isEmpty()) {
            return CheckLine.warn("outbox storage", "cannot find the mount of " + dir + " in "
                    + root.resolve("proc/self/mountinfo"));
        }
        String majorMinor = mount.get()[0];
        String source = mount.get()[1];
        Path block = root.resolve("sys/dev/block").resolve(majorMinor);
        Path disk;
        try {
            disk = block.toRealPath();
        } catch (IOException | SecurityException e) {
            return CheckLine.ok("outbox storage", "on " + source + " (device " + majorMinor + ", not in /sys/dev/block: "
                    + "not an SD card)");
        }
        if (!Files.exists(disk.resolve("device")) && disk.getParent() != null) {
            disk = disk.getParent(); // a partition: its disk holds the device link
        }
        String name = disk.getFileName().toString();
        if (!name.startsWith("mmcblk")) {
            return CheckLine.ok("outbox storage", "on " + source + " (" + name + ", not an SD card)");
        }
        String type = "";
        try {
            type = Files.readString(disk.resolve("device/type")).trim();
        } catch (IOException | SecurityException e) {
            // unknown: say SD card or eMMC
        }
        if (type.equals("MMC")) {
            return CheckLine.ok("outbox storage", "on " + source + " (" + name + ", eMMC)");
        }
        return CheckLine.ok("outbox storage", "on " + source + " (" + name + ", " + (type.equals("SD") ? "an SD card"
                : "an SD card or eMMC") + "): use a card that honours flush, see docs/durability.md");
    }

    /** major:minor and source of the mount holding {@code dir}: the mountinfo entry with the longest matching mount point. */
    private Optional<String[]> mountOf(Path dir) {
        Path real;
        try {
            real = dir.toRealPath();
        } catch (IOException | SecurityException e) {
            real = dir;
        }
        String[] best = null;
        int bestLength = -1;
        try {
            for (String line : Files.readAllLines(root.resolve("proc/self/mountinfo"))) {
                String[] f = line.split(" ");
                int dash = List.of(f).indexOf("-");
                if (f.length < 5 || dash < 0 || dash + 2 >= f.length) {
                    continue;
                }
                Path point = Path.of(unescape(f[4]));
                if (real.startsWith(point) && point.getNameCount() > bestLength) {
                    bestLength = point.getNameCount();
                    best = new String[] {f[2], unescape(f[dash + 2]) + " " + f[dash + 1] + " at " + point};
                }
            }
        } catch (IOException | SecurityException e) {
            return Optional.empty();
        }
        return Optional.ofNullable(best);
    }

    /** mountinfo writes space, tab, newline and backslash as octal escapes. */
    static String unescape(String s) {
        StringBuilder b = new StringBuilder();
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c == '\\' && i + 3 < s.length() && s.substring(i + 1, i + 4).matches("[0-7]{3}")) {
                b.append((char) Integer.parseInt(s.substring(i + 1, i + 4), 8));
                i += 3;
            } else {
                b.append(c);
            }
        }
        return b.toString();
    }

    static String size(long bytes) {
        if (bytes >= 1L << 30) {
            return String.format(Locale.ROOT, "%.1f GB", bytes / (double) (1L << 30));
        }
        if (bytes >= 1L << 20) {
            return String.format(Locale.ROOT, "%.1f MB", bytes / (double) (1L << 20));
        }
        return bytes + " B";
    }
}
