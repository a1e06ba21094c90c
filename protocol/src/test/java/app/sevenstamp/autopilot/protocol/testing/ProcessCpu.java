package app.sevenstamp.autopilot.protocol.testing;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/** CPU time of another process from /proc, for the benches' per-event figures (Linux only). */
public final class ProcessCpu {
    /** USER_HZ, the unit of /proc/PID/stat's times: 100 on every Linux this runs on (getconf CLK_TCK). */
    private static final long NANOS_PER_TICK = 10_000_000L;

    private ProcessCpu() {
    }

    /**
     * User and system CPU nanoseconds of {@code pid}; with {@code family}, also what it collected from children
     * that ended (PostgreSQL's postmaster reaps its backends) and what its live descendants used so far. 0 when
     * the process is gone.
     */
    public static long of(long pid, boolean family) {
        long ticks = ticks(pid, family);
        if (family) {
            ticks += ProcessHandle.of(pid).stream().flatMap(ProcessHandle::descendants)
                    .mapToLong(p -> ticks(p.pid(), false)).sum();
        }
        return ticks * NANOS_PER_TICK;
    }

    private static long ticks(long pid, boolean withEndedChildren) {
        String stat;
        try {
            stat = Files.readString(Path.of("/proc", Long.toString(pid), "stat"));
        } catch (IOException e) {
            return 0;
        }
        // the command name (field 2) may hold spaces: count fields after its closing parenthesis, from field 3
        String[] f = stat.substring(stat.lastIndexOf(')') + 2).trim().split(" ");
        long ticks = Long.parseLong(f[11]) + Long.parseLong(f[12]); // utime, stime (fields 14, 15)
        return withEndedChildren ? ticks + Long.parseLong(f[13]) + Long.parseLong(f[14]) : ticks; // cutime, cstime
    }

    /** {busy, total} jiffies of all the machine's CPUs since boot (/proc/stat; idle and iowait count as not busy). */
    public static long[] machineJiffies() {
        try {
            String[] f = Files.readAllLines(Path.of("/proc/stat")).get(0).trim().split("\\s+");
            long total = 0;
            for (int i = 1; i < f.length; i++) {
                total += Long.parseLong(f[i]);
            }
            return new long[] {total - Long.parseLong(f[4]) - Long.parseLong(f[5]), total};
        } catch (IOException | RuntimeException e) {
            return new long[] {0, 0};
        }
    }

    /** How busy all the machine's CPUs were, in percent, since {@code before} (a {@link #machineJiffies} reading). */
    public static double busyPercentSince(long[] before) {
        long[] now = machineJiffies();
        return now[1] == before[1] ? 0 : 100.0 * (now[0] - before[0]) / (now[1] - before[1]);
    }
}
