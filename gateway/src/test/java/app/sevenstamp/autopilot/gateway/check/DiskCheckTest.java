package app.sevenstamp.autopilot.gateway.check;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import app.sevenstamp.autopilot.gateway.outbox.OutboxLimits;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The outbox disk on fake mount tables: eMMC versus SD card, a mount point with a space, a disk too full. */
class DiskCheckTest {
    @TempDir
    Path dir;

    private Path root(String mountinfo) throws IOException {
        Path root = dir.resolve("root");
        Files.createDirectories(root.resolve("proc/self"));
        Files.writeString(root.resolve("proc/self/mountinfo"), mountinfo);
        return root;
    }

    /** An MMC disk with one partition at /sys/dev/block/179:N, its device of the given type (SD or MMC). */
    private void mmc(Path root, String name, int minor, String type) throws IOException {
        Path device = Files.createDirectories(root.resolve("sys/devices/platform/mmc/mmc0:0001-" + name));
        Files.writeString(device.resolve("type"), type + "\n");
        Path disk = Files.createDirectories(device.resolve("block").resolve(name));
        Files.createSymbolicLink(disk.resolve("device"), device);
        Path partition = Files.createDirectories(disk.resolve(name + "p" + minor));
        Files.createDirectories(root.resolve("sys/dev/block"));
        Files.createSymbolicLink(root.resolve("sys/dev/block/179:" + minor), partition);
    }

    private static String line(List<CheckLine> lines, String subject) {
        return lines.stream().filter(l -> l.subject().equals(subject)).findFirst().orElseThrow().toString();
    }

    @Test
    void anEmmcIsNotCalledAnSdCard() throws IOException {
        Path outbox = Files.createDirectories(dir.resolve("outbox"));
        Path root = root("29 1 179:2 / / rw - ext4 /dev/mmcblk0p2 rw\n");
        mmc(root, "mmcblk0", 2, "MMC");
        List<CheckLine> lines = new DiskCheck(outbox, OutboxLimits.DEFAULT, root).run();
        assertEquals("OK   outbox storage: on /dev/mmcblk0p2 ext4 at / (mmcblk0, eMMC)", line(lines, "outbox storage"));
    }

    @Test
    void theLongestMountPointWinsAndEscapedSpacesAreRead() throws IOException {
        Path outbox = Files.createDirectories(dir.resolve("my outbox"));
        String escaped = outbox.toString().replace(" ", "\\040");
        Path root = root("29 1 8:2 / / rw - ext4 /dev/sda2 rw\n"
                + "40 29 179:2 / " + escaped + " rw - ext4 /dev/mmcblk0p2 rw\n");
        mmc(root, "mmcblk0", 2, "SD");
        List<CheckLine> lines = new DiskCheck(outbox, OutboxLimits.DEFAULT, root).run();
        assertEquals("OK   outbox storage: on /dev/mmcblk0p2 ext4 at " + outbox + " (mmcblk0, an SD card): use a card "
                + "that honours flush, see docs/durability.md", line(lines, "outbox storage"));
    }

    @Test
    void lessFreeThanTheOutboxKeepsIsAFailure() throws IOException {
        Path outbox = Files.createDirectories(dir.resolve("outbox"));
        OutboxLimits greedy = new OutboxLimits(1000, 1L << 20, 1L << 50, 80); // keep a petabyte free
        List<CheckLine> lines = new DiskCheck(outbox, greedy, root("")).run();
        String disk = line(lines, "outbox disk");
        assertTrue(disk.startsWith("FAIL outbox disk: " + outbox + ": "), disk);
        assertTrue(disk.endsWith(", below outbox.minFreeBytes 1048576.0 GB: scans would be refused; free some space"), disk);
        assertEquals("WARN outbox storage: cannot find the mount of " + outbox + " in "
                + dir.resolve("root/proc/self/mountinfo"), line(lines, "outbox storage"));
    }

    @Test
    void aFileInTheWayOfTheOutboxIsAFailure() throws IOException {
        // a file where the outbox's parent should be: the gateway could not create its folder
        Path blocker = Files.writeString(dir.resolve("blocker"), "x");
        List<CheckLine> lines = new DiskCheck(blocker.resolve("outbox"), OutboxLimits.DEFAULT, root("")).run();
        assertEquals(List.of("FAIL outbox disk: " + blocker + " is a file, so the outbox " + blocker.resolve("outbox")
                + " cannot be created; move it away or set outbox.dir"), lines.stream().map(CheckLine::toString).toList());
    }
}
