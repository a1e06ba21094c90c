package app.sevenstamp.autopilot.gateway.check;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The memory controller line of the check, on fake /sys/fs/cgroup and /proc trees as the kernels write them. */
class MemoryCgroupCheckTest {
    private static final String MISSING_TAIL = "): the unit's MemoryMax=200M is not enforced, so a leak would exhaust the box "
            + "instead of restarting the gateway; add cgroup_enable=memory to the one line of /boot/firmware/cmdline.txt "
            + "(/boot/cmdline.txt before bookworm) and reboot";
    /** /proc/cgroups of a Raspberry Pi OS kernel booted with its default cgroup_disable=memory. */
    private static final String PROC_CGROUPS_PI_DEFAULT = """
            #subsys_name	hierarchy	num_cgroups	enabled
            cpuset	0	61	1
            cpu	0	61	1
            cpuacct	0	61	1
            blkio	0	61	1
            memory	0	61	0
            devices	0	61	1
            pids	0	61	1
            """;

    @TempDir
    Path root;

    @Test
    void cgroupV2WithTheMemoryControllerIsFound() throws IOException {
        write("sys/fs/cgroup/cgroup.controllers", "cpuset cpu io memory pids\n");
        write("proc/cgroups", PROC_CGROUPS_PI_DEFAULT.replace("memory\t0\t61\t0", "memory\t0\t61\t1"));

        assertEquals(List.of("OK   memory cgroup: memory controller found (cgroup v2, " + root.resolve("sys/fs/cgroup/cgroup.controllers")
                + " lists memory): the unit's MemoryHigh=160M and MemoryMax=200M are enforced"), lines());
    }

    @Test
    void aRaspberryPiKernelWithItsDefaultCommandLineIsMissingItAndTheLineSaysTheFix() throws IOException {
        write("sys/fs/cgroup/cgroup.controllers", "cpuset cpu io pids\n");
        write("proc/cgroups", PROC_CGROUPS_PI_DEFAULT);
        write("proc/cmdline", "coherent_pool=1M 8250.nr_uarts=1 snd_bcm2835.enable_headphones=0 cgroup_disable=memory "
                + "numa_policy=interleave console=tty1 root=PARTUUID=4e639091-02 rootfstype=ext4 fsck.repair=yes rootwait\n");

        assertEquals(List.of("WARN memory cgroup: memory controller missing (cgroup v2, " + root.resolve("sys/fs/cgroup/cgroup.controllers")
                + " has 'cpuset cpu io pids' but not memory; the kernel command line has cgroup_disable=memory" + MISSING_TAIL), lines());
    }

    @Test
    void cgroupV1IsReadFromProcCgroups() throws IOException {
        write("proc/cgroups", PROC_CGROUPS_PI_DEFAULT.replace("memory\t0\t61\t0", "memory\t4\t29\t1"));
        assertEquals(List.of("OK   memory cgroup: memory controller found (cgroup v1, " + root.resolve("proc/cgroups")
                + " has memory enabled): the unit's MemoryHigh=160M and MemoryMax=200M are enforced"), lines());

        write("proc/cgroups", PROC_CGROUPS_PI_DEFAULT);
        write("proc/cmdline", "console=tty1 root=/dev/mmcblk0p2\n");
        assertEquals(List.of("WARN memory cgroup: memory controller missing (" + root.resolve("proc/cgroups") + " has memory disabled"
                + MISSING_TAIL), lines());

        write("proc/cgroups", "#subsys_name\thierarchy\tnum_cgroups\tenabled\ncpu\t1\t1\t1\n");
        assertEquals(List.of("WARN memory cgroup: memory controller missing (" + root.resolve("proc/cgroups") + " has no memory line"
                + MISSING_TAIL), lines());
    }

    @Test
    void withNeitherFileItSaysItCannotTellAndStillNamesTheFix() {
        List<String> lines = lines();
        assertEquals(1, lines.size());
        assertEquals("WARN memory cgroup: cannot tell whether the kernel has the memory controller: neither "
                + root.resolve("sys/fs/cgroup/cgroup.controllers") + " nor " + root.resolve("proc/cgroups")
                + " exists; the unit's MemoryMax=200M needs it (add cgroup_enable=memory to the one line of "
                + "/boot/firmware/cmdline.txt (/boot/cmdline.txt before bookworm) and reboot)", lines.get(0));
    }

    @Test
    void thisMachineGivesAnAnswerNotAnError() {
        // the real /proc and /sys of the test machine: found or missing, but never "cannot tell" on Linux
        List<CheckLine> lines = new MemoryCgroupCheck(Path.of("/")).run();
        assertEquals(1, lines.size());
        String text = lines.get(0).text();
        assertEquals(true, text.startsWith("memory controller found") || text.startsWith("memory controller missing"), text);
    }

    private List<String> lines() {
        return new MemoryCgroupCheck(root).run().stream().map(CheckLine::toString).toList();
    }

    private void write(String relative, String text) throws IOException {
        Path file = root.resolve(relative);
        Files.createDirectories(file.getParent());
        Files.writeString(file, text);
    }
}
