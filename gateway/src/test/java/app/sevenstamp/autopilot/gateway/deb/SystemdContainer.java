package app.sevenstamp.autopilot.gateway.deb;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import app.sevenstamp.autopilot.protocol.testing.Tools;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.tinylog.Logger;

/**
 * A Debian (bookworm or trixie, {@link DebianRelease}) booted with real systemd as its PID 1 under systemd-nspawn, for tests of the units
 * as systemd runs them (Type=notify, the watchdog, Restart=, the journal, the hardening options).
 *
 * <p>The tree is DebPackageIT's cached debootstrap tree of the release plus systemd, systemd-sysv and dbus,
 * made once per release and cached next to it ({@code ...-systemd}); each container boots a copy. The container shares the
 * host's network, so a broker on the host's 127.0.0.1 is reachable from inside.
 *
 * <p>Without systemd on the host: {@code --register=no --keep-unit} (nothing to register with), no
 * machinectl ({@link #exec} enters the container's namespaces with nsenter), and nspawn runs in a
 * cgroup of its own (its payload and supervisor cgroups go below it, so two containers at once do not
 * share them) that {@link #close} removes, with what nspawn leaves in /run. Needs root.
 */
final class SystemdContainer implements AutoCloseable {
    /** The bookworm tree (its place before trixie was added). */
    static final Path CACHE = DebianRelease.BOOKWORM.systemdCache();
    /**
     * The lock of the ITs that boot containers beside the others ({@code @Execution(CONCURRENT)}): one at a
     * time, so that two boots (one of them emulated) do not starve each other's systemd watchdog periods on
     * a 2-CPU machine.
     */
    static final String BOOTS = "systemd-container-boots";
    private static final String PACKAGES = "systemd systemd-sysv dbus";
    private static final Path CGROUPS = Path.of("/sys/fs/cgroup");
    private static final Duration BOOT_WAIT = Duration.ofSeconds(60);

    /** What a command in the container printed (stdout and stderr) and its exit status. */
    record Result(int status, String output) {
    }

    private final Path root;
    private final String machine;
    private final Process nspawn;
    private final Path log;
    private final List<Path> cgroups;
    private long init;

    private SystemdContainer(Path root, String machine, Process nspawn, Path log, List<Path> cgroups) {
        this.root = root;
        this.machine = machine;
        this.nspawn = nspawn;
        this.log = log;
        this.cgroups = cgroups;
    }

    /** A bookworm container: {@link #boot(Path, DebianRelease)}. */
    static SystemdContainer boot(Path dir) throws IOException, InterruptedException {
        return boot(dir, DebianRelease.BOOKWORM);
    }

    /** Copies the release's cached tree into {@code dir}/root and boots it; returns once systemd says running (or degraded). */
    static SystemdContainer boot(Path dir, DebianRelease release) throws IOException, InterruptedException {
        return boot(dir, tree(release), release.suite(), BOOT_WAIT);
    }

    /**
     * Copies {@code tree} into {@code dir}/root and boots it, waiting at most {@code bootWait} for systemd to
     * say running (or degraded): an emulated arm64 tree ({@link Arm64Trixie}) takes longer than a native one.
     */
    static SystemdContainer boot(Path dir, Path tree, String name, Duration bootWait) throws IOException, InterruptedException {
        Path nspawnTool = Tools.require("systemd-nspawn", "systemd-container");
        Tools.require("nsenter", "util-linux");
        Files.createDirectories(dir);
        Path root = dir.resolve("root");
        run(List.of("cp", "-a", "--reflink=auto", tree.toString(), root.toString()));
        String machine = "7stamp-" + UUID.randomUUID().toString().substring(0, 8);
        List<Path> cgroups = cgroupsFor(machine);
        Path log = dir.resolve("nspawn.log");
        // the shell moves itself into the new cgroups and becomes nspawn (exec), which creates its own below
        StringBuilder script = new StringBuilder();
        for (Path cgroup : cgroups) {
            script.append("mkdir -p '").append(cgroup).append("' && echo $$ > '").append(cgroup).append("/cgroup.procs' && ");
        }
        script.append("exec \"$@\"");
        List<String> command = new ArrayList<>(List.of("sh", "-c", script.toString(), "sh", nspawnTool.toString(), "-q",
                "--register=no", "--keep-unit", "-D", root.toString(), "-b", "--machine=" + machine));
        long start = System.nanoTime();
        Process nspawn = new ProcessBuilder(command).redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")))
                .redirectErrorStream(true).redirectOutput(log.toFile()).start();
        SystemdContainer container = new SystemdContainer(root, machine, nspawn, log, cgroups);
        try {
            container.awaitRunning(bootWait);
        } catch (RuntimeException | Error e) {
            container.close();
            throw e;
        }
        Logger.info("{} container {} booted with systemd as PID 1 (host pid {}) in {} ms", name, machine, container.init,
                (System.nanoTime() - start) / 1_000_000);
        return container;
    }

    Path root() {
        return root;
    }

    /** The container's systemd (PID 1 inside) as this machine numbers it. */
    long initPid() {
        return init;
    }

    /** The container's console (systemd's boot messages), for failure messages. */
    String console() {
        try {
            return Files.readString(log, StandardCharsets.UTF_8);
        } catch (IOException e) {
            return "(" + log + " not readable: " + e + ")";
        }
    }

    /** Runs a command inside the container (all its namespaces) and returns its output; fails unless it exits 0. */
    String exec(String... command) throws IOException, InterruptedException {
        Result r = run(command);
        assertEquals(0, r.status(), String.join(" ", command) + " in the container exited " + r.status() + ":\n" + r.output());
        return r.output();
    }

    /** Runs a command inside the container, whatever its exit status. */
    Result run(String... command) throws IOException, InterruptedException {
        List<String> line = new ArrayList<>(List.of("nsenter", "-t", Long.toString(init), "-a"));
        line.addAll(List.of(command));
        ProcessBuilder pb = new ProcessBuilder(line).redirectErrorStream(true);
        pb.environment().put("DEBIAN_FRONTEND", "noninteractive");
        pb.environment().put("PATH", "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
        pb.environment().put("SYSTEMD_PAGER", "");
        Process p = pb.start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(5, TimeUnit.MINUTES), String.join(" ", command) + " did not finish in the container");
        return new Result(p.exitValue(), out);
    }

    /**
     * Starts a command inside the container and returns at once, for a helper that lives while the test
     * talks to it (its stdin and stdout are the test's); the caller ends it.
     */
    Process start(String... command) throws IOException {
        List<String> line = new ArrayList<>(List.of("nsenter", "-t", Long.toString(init), "-a"));
        line.addAll(List.of(command));
        ProcessBuilder pb = new ProcessBuilder(line);
        pb.environment().put("PATH", "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
        return pb.start();
    }

    /** One property of a unit, as {@code systemctl show -p NAME --value} prints it. */
    String property(String unit, String name) throws IOException, InterruptedException {
        return exec("systemctl", "show", "-p", name, "--value", unit).trim();
    }

    private void awaitRunning(Duration bootWait) {
        // nspawn's child is the container's PID 1: the systemd process nsenter enters
        await("systemd as the container's PID 1; console:\n" + console()).atMost(bootWait)
                .until(() -> {
                    if (!nspawn.isAlive()) {
                        throw new AssertionError("systemd-nspawn exited " + nspawn.exitValue() + ":\n" + console());
                    }
                    Optional<ProcessHandle> pid1 = nspawn.children().filter(c -> "systemd".equals(comm(c.pid()))).findFirst();
                    pid1.ifPresent(p -> init = p.pid());
                    return pid1.isPresent();
                });
        await("systemctl is-system-running: running or degraded; console:\n" + console()).atMost(bootWait)
                .until(() -> {
                    String state = run("systemctl", "is-system-running").output().trim();
                    if (state.equals("degraded")) {
                        Logger.warn("container {} is degraded: {}", machine, run("systemctl", "--failed", "--no-legend").output());
                    }
                    return state.equals("running") || state.equals("degraded");
                });
    }

    private static String comm(long pid) {
        try {
            return Files.readString(Path.of("/proc", Long.toString(pid), "comm")).trim();
        } catch (IOException e) {
            return "";
        }
    }

    /** Powers the container off (SIGTERM to nspawn: systemd shuts down), then removes its cgroups and run files. */
    @Override
    public void close() {
        long start = System.nanoTime();
        nspawn.destroy();
        try {
            if (!nspawn.waitFor(60, TimeUnit.SECONDS)) {
                Logger.warn("container {} did not power off within 60 s; killing systemd-nspawn", machine);
                nspawn.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        // a SIGKILLed nspawn leaves its container's PID 1 behind (seen with systemd under qemu-user, which
        // did not power off on nspawn's signal); killing that init ends everything in its PID namespace
        ProcessHandle.of(init).filter(p -> "systemd".equals(comm(p.pid()))).ifPresent(p -> {
            Logger.warn("container {}: its PID 1 ({}) outlived systemd-nspawn; killing it", machine, p.pid());
            p.destroyForcibly();
            try {
                p.onExit().get(10, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            } catch (java.util.concurrent.ExecutionException | java.util.concurrent.TimeoutException e) {
                Logger.warn("container {}: PID 1 ({}) did not end: {}", machine, p.pid(), e.toString());
            }
        });
        Logger.info("container {} powered off in {} ms", machine, (System.nanoTime() - start) / 1_000_000);
        for (Path cgroup : cgroups) {
            removeCgroup(cgroup);
        }
        try {
            run(List.of("rm", "-rf", Path.of("/run/systemd/nspawn/propagate", machine).toString()));
        } catch (IOException | InterruptedException | AssertionError e) {
            Logger.warn("could not remove /run/systemd/nspawn/propagate/{}: {}", machine, e.toString());
        }
    }

    /** Empty cgroups are removed with rmdir, the deepest first (their files cannot be deleted). */
    private void removeCgroup(Path cgroup) {
        if (!Files.isDirectory(cgroup)) {
            return;
        }
        try (Stream<Path> tree = Files.walk(cgroup)) {
            List<Path> dirs = tree.filter(Files::isDirectory).sorted((a, b) -> b.getNameCount() - a.getNameCount()).toList();
            for (Path d : dirs) {
                Files.delete(d);
            }
        } catch (IOException | RuntimeException e) {
            Logger.warn("cgroup {} of container {} not removed: {}", cgroup, machine, e.toString());
        }
    }

    /** cgroups v1 with systemd's named hierarchy and the unified one (this sandbox), or cgroups v2 alone. */
    private static List<Path> cgroupsFor(String machine) {
        if (Files.isDirectory(CGROUPS.resolve("systemd"))) {
            List<Path> dirs = new ArrayList<>(List.of(CGROUPS.resolve("systemd").resolve(machine)));
            if (Files.isRegularFile(CGROUPS.resolve("unified").resolve("cgroup.procs"))) {
                dirs.add(CGROUPS.resolve("unified").resolve(machine));
            }
            return dirs;
        }
        return List.of(CGROUPS.resolve(machine));
    }

    /**
     * The systemd-ready tree, made from DebPackageIT's tree when missing (atomically, as that one:
     * a half-made tree is never used). apt-get needs /proc and a resolver in the chroot; the machine id
     * is emptied so that each boot makes its own.
     */
    static Path tree() throws IOException, InterruptedException {
        return tree(DebianRelease.BOOKWORM);
    }

    /** The release's systemd-ready tree (see {@link #tree()}), one per release, shared by every container test. */
    static Path tree(DebianRelease release) throws IOException, InterruptedException {
        return withPackages(release, release.systemdCache(), PACKAGES);
    }

    /**
     * The release's minbase tree plus {@code packages}, cached in {@code cache} (made when missing, atomically:
     * a half-made tree is never used). Also used for the trixie tree with lintian (PackageLintIT).
     */
    static synchronized Path withPackages(DebianRelease release, Path cache, String packages)
            throws IOException, InterruptedException {
        Path complete = cache.resolve(".7stamp-complete");
        if (Files.exists(complete)) {
            return cache;
        }
        Path base = DebPackageIT.baseTree(release);
        Path building = cache.resolveSibling(cache.getFileName() + ".building");
        run(List.of("rm", "-rf", building.toString(), cache.toString()));
        long start = System.nanoTime();
        run(List.of("cp", "-a", "--reflink=auto", base.toString(), building.toString()));
        Files.copy(Path.of("/etc/resolv.conf"), building.resolve("etc/resolv.conf"), StandardCopyOption.REPLACE_EXISTING);
        Path proc = building.resolve("proc");
        run(List.of("mount", "--bind", "/proc", proc.toString()));
        try {
            run(List.of("chroot", building.toString(), "sh", "-c",
                    "apt-get update -q && apt-get install -y -q --no-install-recommends " + packages + " && apt-get clean"));
        } finally {
            run(List.of("umount", proc.toString()));
        }
        Files.writeString(building.resolve("etc/machine-id"), "");
        Files.writeString(building.resolve(".7stamp-complete"), release.suite() + " minbase jre" + release.javaFeature() + " + "
                + packages + "\n");
        Files.move(building, cache, StandardCopyOption.ATOMIC_MOVE);
        Logger.info("{} tree with {} made in {} s; cached in {}", release.suite(), packages,
                (System.nanoTime() - start) / 1_000_000_000, cache);
        return cache;
    }

    static String run(List<String> command) throws IOException, InterruptedException {
        ProcessBuilder pb = new ProcessBuilder(command).redirectErrorStream(true);
        pb.environment().put("DEBIAN_FRONTEND", "noninteractive");
        pb.environment().put("PATH", "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
        Process p = pb.start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(15, TimeUnit.MINUTES), String.join(" ", command) + " did not finish");
        assertEquals(0, p.exitValue(), String.join(" ", command) + " failed:\n" + out);
        return out;
    }
}
