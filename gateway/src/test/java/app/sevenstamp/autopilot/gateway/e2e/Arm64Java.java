package app.sevenstamp.autopilot.gateway.e2e;

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
import org.tinylog.Logger;

/**
 * An aarch64 Java runtime that qemu-user-static runs here, as a Pi would run it: bookworm's OpenJDK 17
 * (Debian's arm64 package installed multiarch on this machine, so qemu's library root is {@code /}) or
 * trixie's OpenJDK 21 (trixie is what Raspberry Pi OS installs now; its Java is 21 only).
 *
 * <p>The trixie runtime lives in a tree of its own, {@code ~/.cache/7stamp-chroot/trixie-arm64-jre21}, made
 * once (about 50 s here): {@code debootstrap --foreign --arch=arm64} fetches openjdk-21-jre-headless and
 * what it needs, and each package is unpacked with dpkg-deb (nothing is configured: no maintainer script
 * can run without an arm64 CPU). qemu's {@code -L} finds the loader and libraries there; the JDK's links
 * into /etc are made relative, since the kernel, not qemu, follows them.
 */
enum Arm64Java {
    BOOKWORM_17(17),
    TRIXIE_21(21);

    static final Path BOOKWORM_JAVA = Path.of("/usr/lib/jvm/java-17-openjdk-arm64/bin/java");
    static final Path TRIXIE_TREE = Path.of(System.getProperty("user.home"), ".cache", "7stamp-chroot", "trixie-arm64-jre21");
    private static final String JVM = "usr/lib/jvm/java-21-openjdk-arm64";

    private final int feature;

    Arm64Java(int feature) {
        this.feature = feature;
    }

    int feature() {
        return feature;
    }

    /** qemu, its library root and the aarch64 java: the start of a command line, made ready first. */
    List<String> prefix() throws IOException, InterruptedException {
        Path qemu = Tools.require("qemu-aarch64-static", "qemu-user-static");
        if (this == BOOKWORM_17) {
            if (!Files.isExecutable(BOOKWORM_JAVA)) {
                throw new AssertionError(BOOKWORM_JAVA + " is missing: install the Debian package openjdk-17-jre-headless:arm64 "
                        + "after 'dpkg --add-architecture arm64' (scripts/test does this when run as root)");
            }
            return List.of(qemu.toString(), "-L", "/", BOOKWORM_JAVA.toString());
        }
        Path tree = trixieTree();
        return List.of(qemu.toString(), "-L", tree.toString(), tree.resolve(JVM).resolve("bin/java").toString());
    }

    /** The cached trixie arm64 tree, made when missing (atomically: a half-made tree is never used). Needs root. */
    static synchronized Path trixieTree() throws IOException, InterruptedException {
        if (Files.exists(TRIXIE_TREE.resolve(".7stamp-complete"))) {
            return TRIXIE_TREE;
        }
        Files.createDirectories(TRIXIE_TREE.getParent());
        Path building = TRIXIE_TREE.resolveSibling(TRIXIE_TREE.getFileName() + ".building");
        run(List.of("rm", "-rf", building.toString(), TRIXIE_TREE.toString()));
        long start = System.nanoTime();
        run(List.of(Tools.require("debootstrap", "debootstrap").toString(), "--foreign", "--arch=arm64", "--variant=minbase",
                "--include=openjdk-21-jre-headless", "trixie", building.toString(), mirror()));
        List<String> unpack = new ArrayList<>(List.of("sh", "-c", "for d in \"$1\"/var/cache/apt/archives/*.deb; do "
                + "dpkg-deb -x \"$d\" \"$1\" || exit 1; done", "sh", building.toString()));
        run(unpack);
        Path jvm = building.resolve(JVM);
        try (Stream<Path> files = Files.walk(jvm)) {
            for (Path link : files.filter(Files::isSymbolicLink).toList()) {
                Path target = Files.readSymbolicLink(link);
                if (target.isAbsolute()) {
                    Path inTree = building.resolve(target.toString().substring(1));
                    Files.delete(link);
                    Files.createSymbolicLink(link, link.getParent().relativize(inTree));
                }
            }
        }
        run(List.of("rm", "-rf", building.resolve("var/cache/apt/archives").toString()));
        Files.writeString(building.resolve(".7stamp-complete"), "trixie arm64 openjdk-21-jre-headless, unpacked\n");
        Files.move(building, TRIXIE_TREE, StandardCopyOption.ATOMIC_MOVE);
        Logger.info("trixie arm64 tree with OpenJDK 21 made in {} s; cached in {}", (System.nanoTime() - start) / 1_000_000_000,
                TRIXIE_TREE);
        return TRIXIE_TREE;
    }

    /** The Debian mirror apt uses here (as DebPackageIT finds it), else deb.debian.org. */
    private static String mirror() throws IOException {
        Pattern uri = Pattern.compile("(?m)^(?:URIs:\\s*|deb\\s+(?:\\[[^]]*]\\s+)?)(https?://\\S+/debian)/?(\\s|$)");
        List<Path> sources = new ArrayList<>(List.of(Path.of("/etc/apt/sources.list")));
        Path d = Path.of("/etc/apt/sources.list.d");
        if (Files.isDirectory(d)) {
            try (Stream<Path> files = Files.list(d)) {
                files.sorted().forEach(sources::add);
            }
        }
        for (Path source : sources) {
            if (Files.isRegularFile(source)) {
                Matcher m = uri.matcher(Files.readString(source, StandardCharsets.UTF_8));
                if (m.find()) {
                    return m.group(1);
                }
            }
        }
        return "http://deb.debian.org/debian";
    }

    private static void run(List<String> command) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!p.waitFor(15, TimeUnit.MINUTES) || p.exitValue() != 0) {
            throw new AssertionError(String.join(" ", command) + " failed:\n" + out);
        }
    }
}
