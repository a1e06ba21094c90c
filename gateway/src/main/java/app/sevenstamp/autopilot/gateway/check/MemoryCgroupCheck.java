package app.sevenstamp.autopilot.gateway.check;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;

/**
 * Whether the kernel has the memory cgroup controller, without which the unit's {@code MemoryHigh=} and
 * {@code MemoryMax=} are accepted by systemd and do nothing: a leak would then take the whole box down
 * instead of one restart of the gateway. Raspberry Pi OS kernels start with the controller disabled
 * ({@code cgroup_disable=memory}); {@code cgroup_enable=memory} on the kernel command line turns it on.
 *
 * <p>Read from the unified hierarchy's {@code /sys/fs/cgroup/cgroup.controllers} when there is one (cgroup
 * v2, what bookworm and trixie mount), else from {@code /proc/cgroups} (v1 and hybrid). A missing controller
 * is a warning: the gateway runs, only its memory limit is not enforced.
 */
final class MemoryCgroupCheck implements Check {
    static final String SUBJECT = "memory cgroup";
    static final String FIX = "add cgroup_enable=memory to the one line of /boot/firmware/cmdline.txt "
            + "(/boot/cmdline.txt before bookworm) and reboot";

    private final Path root;

    /** @param root where proc and sys are ({@code /} on the box) */
    MemoryCgroupCheck(Path root) {
        this.root = root;
    }

    @Override
    public List<CheckLine> run() {
        Path controllers = root.resolve("sys/fs/cgroup/cgroup.controllers");
        Path procCgroups = root.resolve("proc/cgroups");
        try {
            Optional<String> v2 = read(controllers);
            if (v2.isPresent()) {
                if (Arrays.asList(v2.get().trim().split("\\s+")).contains("memory")) {
                    return List.of(found("cgroup v2, " + controllers + " lists memory"));
                }
                return List.of(missing("cgroup v2, " + controllers + " has '" + v2.get().trim() + "' but not memory"));
            }
            Optional<String> v1 = read(procCgroups);
            if (v1.isPresent()) {
                // #subsys_name hierarchy num_cgroups enabled
                Optional<String[]> memory = v1.get().lines().map(l -> l.trim().split("\\s+"))
                        .filter(f -> f.length >= 4 && f[0].equals("memory")).findFirst();
                if (memory.isPresent() && memory.get()[3].equals("1")) {
                    return List.of(found("cgroup v1, " + procCgroups + " has memory enabled"));
                }
                return List.of(missing(procCgroups + (memory.isPresent() ? " has memory disabled" : " has no memory line")));
            }
        } catch (IOException | SecurityException e) {
            return List.of(CheckLine.warn(SUBJECT, "cannot tell whether the kernel has the memory controller: "
                    + e.getMessage() + "; the unit's MemoryMax=200M needs it (" + FIX + ")"));
        }
        return List.of(CheckLine.warn(SUBJECT, "cannot tell whether the kernel has the memory controller: neither "
                + controllers + " nor " + procCgroups + " exists; the unit's MemoryMax=200M needs it (" + FIX + ")"));
    }

    private static CheckLine found(String where) {
        return CheckLine.ok(SUBJECT, "memory controller found (" + where + "): the unit's MemoryHigh=160M and "
                + "MemoryMax=200M are enforced");
    }

    private CheckLine missing(String where) {
        String cmdline;
        try {
            cmdline = read(root.resolve("proc/cmdline")).orElse("");
        } catch (IOException | SecurityException e) {
            cmdline = ""; // only for the hint
        }
        boolean disabled = Arrays.asList(cmdline.trim().split("\\s+")).contains("cgroup_disable=memory");
        return CheckLine.warn(SUBJECT, "memory controller missing (" + where
                + (disabled ? "; the kernel command line has cgroup_disable=memory" : "")
                + "): the unit's MemoryMax=200M is not enforced, so a leak would exhaust the box instead of "
                + "restarting the gateway; " + FIX);
    }

    private static Optional<String> read(Path file) throws IOException {
        try {
            return Optional.of(Files.readString(file));
        } catch (NoSuchFileException e) {
            return Optional.empty();
        }
    }
}
