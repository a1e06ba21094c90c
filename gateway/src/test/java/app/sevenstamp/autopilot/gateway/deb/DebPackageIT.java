package app.sevenstamp.autopilot.gateway.deb;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import app.sevenstamp.autopilot.gateway.e2e.UnitJvmFlags;
import app.sevenstamp.autopilot.protocol.testing.Tools;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.api.parallel.Execution;
import org.junit.jupiter.api.parallel.ExecutionMode;
import org.junit.jupiter.api.parallel.ResourceLock;
import org.tinylog.Logger;

/**
 * The .deb on a real Debian, bookworm (OpenJDK 17) and trixie (OpenJDK 21): a debootstrap tree (minbase +
 * the Java runtime the package depends on, as that release provides it) in a chroot, where dpkg installs, removes and purges the package and runs its
 * maintainer scripts. There is no systemd running in a chroot: the scripts must enable the unit
 * without starting it, which is also what an SD-card image build sees.
 *
 * <p>Each release's tree is made once and kept in {@code ~/.cache/7stamp-chroot} (about 30 to 50 s and 470 MB
 * each from the Debian mirror; {@link DebianRelease}); each run copies it, so runs do not see each other's leftovers. Needs root (chroot
 * and dpkg); scripts/test runs as root in CI.
 */
@Execution(ExecutionMode.CONCURRENT) // dpkg in chroots of its own, no timing asserted: runs beside the other ITs (pom.xml, failsafe)
@ResourceLock("DebPackageIT") // its own cases one after another
class DebPackageIT {
    private static final Path TARGET = Path.of("target");
    /** The package's Java dependency: the first alternative bookworm has, the second trixie, the third any other Java 17+. */
    static final String JAVA_DEPENDS = "openjdk-17-jre-headless | openjdk-21-jre-headless | java17-runtime-headless";
    /** The bookworm tree (its place before trixie was added; other tests use it). */
    static final Path CACHE = DebianRelease.BOOKWORM.baseCache();

    @TempDir
    Path dir;

    @ParameterizedTest
    @EnumSource(DebianRelease.class)
    void installEnablesRemoveKeepsConfigAndStatePurgeRemovesEverything(DebianRelease release) throws Exception {
        assertEquals("0", run(List.of("id", "-u")).trim(), "the package test needs root (chroot, dpkg); run scripts/test as root");
        Path deb = theDeb();
        Path root = dir.resolve("root");
        run(List.of("cp", "-a", "--reflink=auto", baseTree(release).toString(), root.toString()));
        Files.copy(deb, root.resolve("tmp/gateway.deb"));

        String control = run(List.of(Tools.require("dpkg-deb", "dpkg").toString(), "--field", deb.toString(),
                "Architecture", "Depends"));
        assertTrue(control.contains("Architecture: all"), control);
        assertTrue(control.contains("Depends: " + JAVA_DEPENDS + ","), control);

        // install: the user in its groups, the files, the conffile, the unit enabled (not started: no systemd); with
        // /proc as on a box, where postinst builds the class-data sharing archive with the installed Java
        withProc(root, () -> chroot(root, "dpkg", "-i", "/tmp/gateway.deb"));
        String id = chroot(root, "id", "autopilot");
        for (String group : List.of("gpio", "dialout", "input")) {
            assertTrue(id.contains("(" + group + ")"), id);
        }
        assertTrue(Files.isRegularFile(root.resolve("usr/share/7stamp-autopilot/autopilot-gateway.jar")));
        assertTrue(Files.isRegularFile(root.resolve("usr/lib/systemd/system/7stamp-gateway.service")));
        assertTrue(Files.isRegularFile(root.resolve("usr/lib/udev/rules.d/60-7stamp-scanner.rules")));
        Path wants = root.resolve("etc/systemd/system/multi-user.target.wants/7stamp-gateway.service");
        assertTrue(Files.isSymbolicLink(wants), "enabled at boot");
        assertEquals("/etc/7stamp-autopilot/gateway.properties",
                chroot(root, "dpkg-query", "-W", "-f=${Conffiles}", "7stamp-autopilot-gateway").trim().split(" ")[0]);
        assertEquals("root:autopilot 640", chroot(root, "stat", "-c", "%U:%G %a", "/etc/7stamp-autopilot/gateway.properties").trim());

        // the installed jar runs on the installed Java, and reads the shipped example config
        String missingKey = javaInChroot(root);
        assertTrue(missingKey.contains("cards.trustedKeys: missing"), missingKey);
        // ... and that Java is the release's own (17 on bookworm, 21 on trixie)
        String version = withProc(root, () -> chroot(root, "java", "-version"));
        assertTrue(version.startsWith("openjdk version \"" + release.javaFeature() + "."), version);
        Logger.info("{}: the gateway jar ran on {}", release.suite(), version.lines().findFirst().orElse(""));

        // the class-data sharing archive postinst built: the JVM with the unit's options maps it and takes the gateway's
        // classes from it (-Xshare:on: a start fails where the archive cannot be used, instead of going on without it)
        Path archive = root.resolve("var/cache/7stamp-autopilot/gateway.jsa");
        assertTrue(Files.isRegularFile(archive), "postinst built the class-data sharing archive");
        List<String> shared = new ArrayList<>(UnitJvmFlags.options());
        shared.addAll(List.of("-XX:SharedArchiveFile=/var/cache/7stamp-autopilot/gateway.jsa", "-Xshare:on",
                "-Xlog:class+load=info"));
        String classes = javaInChroot(root, shared.toArray(String[]::new));
        assertTrue(classes.contains("app.sevenstamp.autopilot.gateway.GatewayMain source: shared objects file"), classes);
        // a Java package changed /usr/lib/jvm (dpkg's file trigger): postinst builds the archive again
        Files.delete(archive);
        withProc(root, () -> chroot(root, "dpkg-trigger", "--no-await", "/usr/lib/jvm")
                + chroot(root, "dpkg", "--triggers-only", "--pending"));
        assertTrue(Files.isRegularFile(archive), "the trigger built the archive again");

        // state as the service would leave it
        Path state = root.resolve("var/lib/7stamp-autopilot/outbox");
        Files.createDirectories(state);
        Files.writeString(state.resolve("outbox.mv.db"), "unsent stamps");
        Files.writeString(root.resolve("etc/7stamp-autopilot/gateway.properties"), "mqtt.url=ssl://broker:8883\n",
                java.nio.file.StandardOpenOption.APPEND);

        // remove: program gone and disabled; config, state and user stay for a reinstall
        chroot(root, "dpkg", "-r", "7stamp-autopilot-gateway");
        assertFalse(Files.exists(root.resolve("usr/share/7stamp-autopilot/autopilot-gateway.jar")));
        assertFalse(Files.exists(root.resolve("usr/lib/systemd/system/7stamp-gateway.service")));
        Path mask = root.resolve("etc/systemd/system/7stamp-gateway.service");
        assertEquals(Path.of("/dev/null"), Files.readSymbolicLink(mask), "masked while removed, as dh_installsystemd does");
        assertTrue(Files.readString(root.resolve("etc/7stamp-autopilot/gateway.properties")).contains("ssl://broker:8883"));
        assertTrue(Files.exists(state.resolve("outbox.mv.db")));

        // reinstall keeps the edited conffile without asking
        chroot(root, "dpkg", "-i", "/tmp/gateway.deb");
        assertTrue(Files.readString(root.resolve("etc/7stamp-autopilot/gateway.properties")).contains("ssl://broker:8883"));
        assertTrue(Files.isSymbolicLink(wants), "enabled again");
        assertFalse(Files.exists(mask, java.nio.file.LinkOption.NOFOLLOW_LINKS), "unmasked");

        // purge: config, state and the user are gone; the shared groups stay
        chroot(root, "dpkg", "-P", "7stamp-autopilot-gateway");
        assertFalse(Files.exists(root.resolve("etc/7stamp-autopilot")));
        assertFalse(Files.exists(root.resolve("var/lib/7stamp-autopilot")));
        assertFalse(Files.exists(root.resolve("var/cache/7stamp-autopilot")), "the archive went with the cache");
        assertFalse(Files.exists(wants, java.nio.file.LinkOption.NOFOLLOW_LINKS));
        assertFalse(Files.exists(mask, java.nio.file.LinkOption.NOFOLLOW_LINKS));
        assertFalse(Files.readString(root.resolve("etc/passwd")).contains("autopilot:"));
        assertFalse(Files.readString(root.resolve("etc/group")).contains("autopilot:"));
        assertTrue(Files.readString(root.resolve("etc/group")).contains("gpio:"));
        assertFalse(Files.readString(root.resolve("var/lib/dpkg/status")).contains("Package: 7stamp-autopilot-gateway\n"),
                "dpkg forgot the package");
    }

    /**
     * scripts/install-gateway.sh in the same kind of tree, with the local .deb and --offline (no apt-get
     * update, no download). What only a real Pi shows is not covered: the download with curl, Raspberry
     * Pi OS's own Java package, the prompts on /dev/tty, and the systemctl enable/restart branch (no
     * systemd runs in a chroot; the package's postinst enables the unit, as checked here).
     */
    @ParameterizedTest
    @EnumSource(DebianRelease.class)
    void theInstallScriptInstallsTheLocalPackageWritesBrokerAndClaimAndEnablesTheUnit(DebianRelease release) throws Exception {
        assertEquals("0", run(List.of("id", "-u")).trim(), "the install script test needs root (chroot, dpkg); run scripts/test as root");
        Path root = dir.resolve("root");
        run(List.of("cp", "-a", "--reflink=auto", baseTree(release).toString(), root.toString()));
        Files.copy(theDeb(), root.resolve("tmp/gateway.deb"));
        Files.copy(Path.of("..", "scripts", "install-gateway.sh"), root.resolve("tmp/install-gateway.sh"));
        Files.writeString(root.resolve("tmp/ca.pem"), "-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----\n");

        String out = chroot(root, "bash", "/tmp/install-gateway.sh", "--offline", "--deb", "/tmp/gateway.deb",
                "--broker", "ssl://broker.example.com:8883", "--claim", "clm_first_token", "--ca", "/tmp/ca.pem");
        assertTrue(out.contains("systemd is not running here, the gateway starts at the next boot"), out);
        assertTrue(chroot(root, "dpkg-query", "-W", "-f=${Status}", "7stamp-autopilot-gateway").contains("install ok installed"));
        Path wants = root.resolve("etc/systemd/system/multi-user.target.wants/7stamp-gateway.service");
        assertTrue(Files.isSymbolicLink(wants), "the unit is enabled at boot");
        Path config = root.resolve("etc/7stamp-autopilot/gateway.properties");
        List<String> lines = Files.readAllLines(config);
        assertTrue(lines.contains("mqtt.url=ssl://broker.example.com:8883"), lines.toString());
        assertTrue(lines.contains("provision.claimToken=clm_first_token"), lines.toString());
        assertTrue(lines.contains("mqtt.tls.ca=/etc/7stamp-autopilot/broker-ca.pem"), lines.toString());
        assertTrue(Files.isRegularFile(root.resolve("etc/7stamp-autopilot/broker-ca.pem")));
        assertEquals("root:autopilot 640", chroot(root, "stat", "-c", "%U:%G %a", "/etc/7stamp-autopilot/gateway.properties").trim());

        // again with a new token: the key is replaced, not added twice, and an admin's own key stays
        Files.writeString(config, "scanner.type=hid\n", java.nio.file.StandardOpenOption.APPEND);
        chroot(root, "bash", "/tmp/install-gateway.sh", "--offline", "--deb", "/tmp/gateway.deb",
                "--broker", "tcp://10.0.0.5:1883", "--claim", "clm_second_token");
        lines = Files.readAllLines(config);
        assertEquals(1, lines.stream().filter(l -> l.startsWith("provision.claimToken=")).count(), lines.toString());
        assertTrue(lines.contains("provision.claimToken=clm_second_token") && lines.contains("mqtt.url=tcp://10.0.0.5:1883")
                && lines.contains("scanner.type=hid"), lines.toString());

        // bad input: a clear message and the config untouched
        Process bad = new ProcessBuilder("chroot", root.toString(), "bash", "/tmp/install-gateway.sh", "--offline", "--deb",
                "/tmp/gateway.deb", "--broker", "broker.example.com", "--claim", "clm_x").redirectErrorStream(true).start();
        String badOut = new String(bad.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(bad.waitFor(60, TimeUnit.SECONDS));
        assertEquals(64, bad.exitValue(), badOut);
        assertTrue(badOut.contains("broker 'broker.example.com' must be ssl://HOST:PORT or tcp://HOST:PORT"), badOut);
        assertTrue(Files.readAllLines(config).contains("provision.claimToken=clm_second_token"));
    }

    /**
     * Boxes installed before the unit moved from /lib to /usr/lib upgrade in place (a staged update is a
     * {@code dpkg -i} of the new version). On a merged-/usr system both paths are the same file, so dpkg
     * removing the old package's /lib path must not delete what the new one just put under /usr/lib: after
     * the upgrade the units, the udev rule and the unit's enablement are all there and owned by the package.
     * The old package is this one with its /usr/lib files moved back to /lib and an older version.
     */
    @ParameterizedTest
    @EnumSource(DebianRelease.class)
    void anUpgradeFromTheLibLayoutKeepsTheUnitsAndTheUdevRule(DebianRelease release) throws Exception {
        assertEquals("0", run(List.of("id", "-u")).trim(), "the package test needs root (chroot, dpkg); run scripts/test as root");
        Path deb = theDeb();
        String dpkgDeb = Tools.require("dpkg-deb", "dpkg").toString();
        Path old = dir.resolve("old");
        run(List.of(dpkgDeb, "--raw-extract", deb.toString(), old.toString()));
        Files.createDirectories(old.resolve("lib"));
        for (String sub : List.of("systemd", "udev")) {
            Files.move(old.resolve("usr/lib/" + sub), old.resolve("lib/" + sub));
        }
        Path control = old.resolve("DEBIAN/control");
        Files.writeString(control, Files.readString(control).replaceFirst("(?m)^Version: .*$", "Version: 0.0.9"));
        Path sums = old.resolve("DEBIAN/md5sums");
        Files.writeString(sums, Files.readString(sums).replace("  usr/lib/systemd/", "  lib/systemd/")
                .replace("  usr/lib/udev/", "  lib/udev/"));
        Path oldDeb = dir.resolve("old.deb");
        run(List.of(dpkgDeb, "--root-owner-group", "--build", old.toString(), oldDeb.toString()));

        Path root = dir.resolve("root");
        run(List.of("cp", "-a", "--reflink=auto", baseTree(release).toString(), root.toString()));
        assertTrue(Files.isSymbolicLink(root.resolve("lib")), release + " is merged-/usr: /lib is a link to usr/lib");
        Files.copy(oldDeb, root.resolve("tmp/old.deb"));
        Files.copy(deb, root.resolve("tmp/gateway.deb"));
        chroot(root, "dpkg", "-i", "/tmp/old.deb");
        assertTrue(chroot(root, "dpkg", "-L", "7stamp-autopilot-gateway").contains("/lib/systemd/system/7stamp-gateway.service"));
        chroot(root, "dpkg", "-i", "/tmp/gateway.deb");

        String owned = chroot(root, "dpkg", "-L", "7stamp-autopilot-gateway");
        for (String file : List.of("usr/lib/systemd/system/7stamp-gateway.service", "usr/lib/systemd/system/7stamp-gateway-update.path",
                "usr/lib/systemd/system/7stamp-gateway-update.service", "usr/lib/udev/rules.d/60-7stamp-scanner.rules")) {
            assertTrue(Files.isRegularFile(root.resolve(file)) && Files.size(root.resolve(file)) > 0,
                    file + " survived the upgrade from the /lib layout");
            assertTrue(owned.lines().anyMatch(l -> l.equals("/" + file)), file + " is the package's");
        }
        Path wants = root.resolve("etc/systemd/system/multi-user.target.wants/7stamp-gateway.service");
        assertTrue(Files.isSymbolicLink(wants), "the unit is still enabled");
        Path link = Files.readSymbolicLink(wants);
        Path target = link.isAbsolute() ? root.resolve(link.toString().substring(1)) : wants.resolveSibling(link);
        assertTrue(Files.isRegularFile(target), "its enablement link leads to the unit file (in the box's tree): " + link);
        assertTrue(chroot(root, "dpkg-query", "-W", "-f=${Version} ${Status}", "7stamp-autopilot-gateway")
                .contains("install ok installed"));
    }

    static Path theDeb() throws IOException {
        try (Stream<Path> files = Files.list(TARGET)) {
            List<Path> debs = files.filter(p -> p.getFileName().toString().matches("7stamp-autopilot-gateway_.+_all\\.deb"))
                    .toList();
            assertEquals(1, debs.size(), "one target/7stamp-autopilot-gateway_VERSION_all.deb from `mvn package`: " + debs);
            return debs.get(0);
        }
    }

    /** The cached bookworm tree. */
    static Path baseTree() throws IOException, InterruptedException {
        return baseTree(DebianRelease.BOOKWORM);
    }

    /** The release's cached tree, made with debootstrap when missing (atomically: a half-made tree is never used). */
    static synchronized Path baseTree(DebianRelease release) throws IOException, InterruptedException {
        Path cache = release.baseCache();
        Path complete = cache.resolve(".7stamp-complete");
        if (Files.exists(complete)) {
            return cache;
        }
        Files.createDirectories(cache.getParent());
        Path building = cache.resolveSibling(cache.getFileName() + ".building");
        run(List.of("rm", "-rf", building.toString(), cache.toString()));
        long start = System.nanoTime();
        run(List.of(Tools.require("debootstrap", "debootstrap").toString(), "--variant=minbase", "--include=" + release.include(),
                release.suite(), building.toString(), mirror()));
        Files.writeString(building.resolve(".7stamp-complete"), release.suite() + " " + release.include() + "\n");
        Files.move(building, cache, StandardCopyOption.ATOMIC_MOVE);
        Logger.info("debootstrap {} with {} took {} s; cached in {}", release.suite(), release.include(),
                (System.nanoTime() - start) / 1_000_000_000, cache);
        return cache;
    }

    /** The Debian mirror apt uses on this machine (deb822 or one-line sources), else deb.debian.org. */
    static String mirror() throws IOException {
        List<Path> sources = new ArrayList<>();
        Path list = Path.of("/etc/apt/sources.list");
        if (Files.isRegularFile(list)) {
            sources.add(list);
        }
        Path d = Path.of("/etc/apt/sources.list.d");
        if (Files.isDirectory(d)) {
            try (Stream<Path> files = Files.list(d)) {
                files.sorted().forEach(sources::add);
            }
        }
        Pattern uri = Pattern.compile("(?m)^(?:URIs:\\s*|deb\\s+(?:\\[[^]]*]\\s+)?)(https?://\\S+/debian)/?(\\s|$)");
        for (Path source : sources) {
            Matcher m = uri.matcher(Files.readString(source, StandardCharsets.UTF_8));
            if (m.find()) {
                return m.group(1);
            }
        }
        return "http://deb.debian.org/debian";
    }

    /** The gateway jar under the chroot's Java with these JVM options: its output, which ends in a configuration error. */
    private static String javaInChroot(Path root, String... jvmOptions) throws IOException, InterruptedException {
        return withProc(root, () -> {
            List<String> line = new ArrayList<>(List.of("chroot", root.toString(), "java"));
            line.addAll(List.of(jvmOptions));
            line.addAll(List.of("-jar", "/usr/share/7stamp-autopilot/autopilot-gateway.jar", "--config",
                    "/etc/7stamp-autopilot/gateway.properties"));
            Process p = new ProcessBuilder(line).redirectErrorStream(true).start();
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            assertTrue(p.waitFor(60, TimeUnit.SECONDS));
            assertEquals(78, p.exitValue(), "exit status for a configuration error; output:\n" + out);
            return out;
        });
    }

    /** What a command in the chroot needs /proc for: the JVM finds its libraries through it. */
    @FunctionalInterface
    private interface InChroot {
        String run() throws IOException, InterruptedException;
    }

    /** {@code work} with /proc mounted in the chroot, unmounted after. */
    private static String withProc(Path root, InChroot work) throws IOException, InterruptedException {
        Path proc = root.resolve("proc");
        run(List.of("mount", "-t", "proc", "proc", proc.toString()));
        try {
            return work.run();
        } finally {
            run(List.of("umount", proc.toString()));
        }
    }

    private static String chroot(Path root, String... command) throws IOException, InterruptedException {
        List<String> line = new ArrayList<>(List.of("chroot", root.toString()));
        line.addAll(List.of(command));
        return run(line);
    }

    /** A command on the host, as root, with Debian's non-interactive settings; its output, or a failure. */
    private static String run(List<String> command) throws IOException, InterruptedException {
        return SystemdContainer.run(command);
    }
}
