package app.sevenstamp.autopilot.gateway.deb;

import app.sevenstamp.autopilot.protocol.testing.Tools;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.List;
import org.tinylog.Logger;

/**
 * A Raspberry Pi OS-like arm64 Debian trixie (OpenJDK 21, systemd) made and run on this amd64 machine
 * through the kernel's binfmt_misc: each aarch64 program the kernel is asked to run is handed to qemu's
 * user-mode emulator. Unlike e2e/Arm64Java's unpacked tree, this one is configured (debootstrap's second
 * stage ran every maintainer script under qemu), so dpkg, adduser and systemd work in it as on a board.
 *
 * <p>The emulator is trixie's qemu-user 10.0 (a static binary, taken from its .deb and cached in
 * {@code ~/.cache/7stamp-chroot/qemu-user-trixie}), not bookworm's qemu-user-static 7.2: under 7.2 trixie's
 * systemd 257 boots but cannot start a single unit ("Failed to spawn executor: Invalid argument": its
 * clone of the executor is refused). Its binfmt_misc entry, {@code 7stamp-aarch64}, has the flags F (the
 * kernel opens qemu when it is registered, so qemu need not exist inside the tree) and O (the kernel opens
 * the program and hands qemu the descriptor: systemd starts its executor as {@code /proc/self/fd/9} of a
 * close-on-exec descriptor, which qemu could not open by name). Newer entries win in binfmt_misc, so
 * this one is used even where Debian's binfmt-support registered bookworm's qemu.
 *
 * <p>qemu-user has no new mount API (fsopen), so a unit with credentials fails with 243/CREDENTIALS; the
 * tree carries a drop-in for all services that clears ImportCredential= and LoadCredential= (journald,
 * tmpfiles and sysusers have them; the gateway's unit has none).
 *
 * <p>Made once (debootstrap --arch=arm64, minbase plus the .deb's dependencies and systemd; about 10 minutes
 * on this loaded 2-CPU machine, most of it the maintainer scripts under emulation) and cached in
 * {@code ~/.cache/7stamp-chroot/trixie-arm64-jre21-systemd}; a half-made tree is never used. Needs root.
 */
final class Arm64Trixie {
    static final Path CACHE = DebianRelease.TRIXIE.baseCache().resolveSibling("trixie-arm64-jre21-systemd");
    static final Path QEMU_CACHE = DebianRelease.TRIXIE.baseCache().resolveSibling("qemu-user-trixie");
    static final String PACKAGES = "adduser,openjdk-21-jre-headless,systemd,systemd-sysv,dbus";
    static final String ENTRY = "7stamp-aarch64";
    private static final Path BINFMT = Path.of("/proc/sys/fs/binfmt_misc");
    /** The ELF header of an aarch64 executable, and the mask of its bytes that matter (as Debian's qemu-aarch64 entry). */
    private static final String MAGIC = "\\x7f\\x45\\x4c\\x46\\x02\\x01\\x01\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x02\\x00\\xb7\\x00";
    private static final String MASK = "\\xff\\xff\\xff\\xff\\xff\\xff\\xff\\x00\\xff\\xff\\xff\\xff\\xff\\xff\\xff\\xff\\xfe\\xff\\xff\\xff";
    private static final String DROP_IN = """
            # 7stamp test tree (Arm64Trixie): qemu-user has no new mount API (fsopen), so systemd cannot set up
            # credentials for a unit under emulation (status 243/CREDENTIALS); none of these units needs them
            [Service]
            ImportCredential=
            LoadCredential=
            SetCredential=
            """;

    private Arm64Trixie() {
    }

    /** trixie's qemu-aarch64 (10.0, static), fetched with the trixie amd64 tree's apt once and cached. */
    static synchronized Path qemu() throws IOException, InterruptedException {
        Path qemu = QEMU_CACHE.resolve("usr/bin/qemu-aarch64");
        if (Files.exists(QEMU_CACHE.resolve(".7stamp-complete"))) {
            return qemu;
        }
        Path base = DebPackageIT.baseTree(DebianRelease.TRIXIE);
        Path work = Files.createTempDirectory("7stamp-qemu-");
        Path building = QEMU_CACHE.resolveSibling(QEMU_CACHE.getFileName() + ".building");
        try {
            Path tree = work.resolve("tree");
            SystemdContainer.run(List.of("cp", "-a", "--reflink=auto", base.toString(), tree.toString()));
            Files.copy(Path.of("/etc/resolv.conf"), tree.resolve("etc/resolv.conf"), StandardCopyOption.REPLACE_EXISTING);
            // apt in a private mount namespace with its own /proc: nothing to unmount afterwards
            SystemdContainer.run(List.of("unshare", "-m", "sh", "-c", "mount -t proc proc \"$1/proc\" && chroot \"$1\" sh -c "
                    + "'apt-get update -q && cd /root && apt-get download -q qemu-user'", "sh", tree.toString()));
            SystemdContainer.run(List.of("rm", "-rf", building.toString()));
            SystemdContainer.run(List.of("sh", "-c", "dpkg-deb -x \"$1\"/root/qemu-user_*.deb \"$2\"", "sh", tree.toString(),
                    building.toString()));
            String version = SystemdContainer.run(List.of(building.resolve("usr/bin/qemu-aarch64").toString(), "--version"));
            Files.writeString(building.resolve(".7stamp-complete"), version);
            Files.move(building, QEMU_CACHE, StandardCopyOption.ATOMIC_MOVE);
            Logger.info("trixie's qemu-user cached in {}: {}", QEMU_CACHE, version.lines().findFirst().orElse("?"));
        } finally {
            SystemdContainer.run(List.of("rm", "-rf", work.toString()));
        }
        return qemu;
    }

    /**
     * aarch64 programs run here through binfmt_misc with trixie's qemu: the entry {@value #ENTRY} (flags O
     * and F), registered now when it is missing or names another interpreter. Needs root.
     */
    static synchronized void requireBinfmt() throws IOException, InterruptedException {
        Path qemu = qemu();
        if (!Files.exists(BINFMT.resolve("register"))) {
            SystemdContainer.run(List.of("mount", "-t", "binfmt_misc", "binfmt_misc", BINFMT.toString()));
        }
        Path entry = BINFMT.resolve(ENTRY);
        if (Files.exists(entry)) {
            String text = Files.readString(entry);
            if (text.startsWith("enabled") && text.contains("interpreter " + qemu + "\n") && text.contains("flags: OF")) {
                return;
            }
            Files.writeString(entry, "-1"); // ours, but stale: remove it and register again
        }
        Files.writeString(BINFMT.resolve("register"), ":" + ENTRY + ":M::" + MAGIC + ":" + MASK + ":" + qemu + ":OF",
                StandardCharsets.US_ASCII);
        String text = Files.readString(entry);
        if (!text.startsWith("enabled") || !text.contains("flags: OF")) {
            throw new AssertionError("binfmt_misc did not take the aarch64 entry: " + entry + ":\n" + text);
        }
        Logger.info("registered {} for aarch64 programs in binfmt_misc ({}, flags OF)", qemu, ENTRY);
    }

    /** The cached tree, made when missing. */
    static synchronized Path tree() throws IOException, InterruptedException {
        requireBinfmt();
        if (Files.exists(CACHE.resolve(".7stamp-complete"))) {
            return CACHE;
        }
        Files.createDirectories(CACHE.getParent());
        Path building = CACHE.resolveSibling(CACHE.getFileName() + ".building");
        SystemdContainer.run(List.of("rm", "-rf", building.toString(), CACHE.toString()));
        long start = System.nanoTime();
        SystemdContainer.run(List.of(Tools.require("debootstrap", "debootstrap").toString(), "--arch=arm64", "--variant=minbase",
                "--include=" + PACKAGES, "trixie", building.toString(), DebPackageIT.mirror()));
        SystemdContainer.run(List.of("chroot", building.toString(), "apt-get", "clean"));
        // each boot makes its own machine id
        Files.writeString(building.resolve("etc/machine-id"), "");
        Path dropIn = building.resolve("etc/systemd/system/service.d/10-emulated.conf");
        Files.createDirectories(dropIn.getParent());
        Files.writeString(dropIn, DROP_IN, StandardCharsets.UTF_8);
        Files.writeString(building.resolve(".7stamp-complete"), "trixie arm64 minbase + " + PACKAGES + "\n");
        Files.move(building, CACHE, StandardCopyOption.ATOMIC_MOVE);
        Logger.info("trixie arm64 tree with {} made in {} s under qemu; cached in {}", PACKAGES,
                (System.nanoTime() - start) / 1_000_000_000, CACHE);
        return CACHE;
    }
}
