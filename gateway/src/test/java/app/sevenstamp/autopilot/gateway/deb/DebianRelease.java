package app.sevenstamp.autopilot.gateway.deb;

import java.nio.file.Path;

/**
 * The Debian releases a counter box runs on, each with the Java runtime its Raspberry Pi OS installs:
 * bookworm with OpenJDK 17, trixie (Raspberry Pi OS since late 2025) with OpenJDK 21, which is the
 * only Java trixie has. The package and container tests run on each; their debootstrap trees are
 * cached per release under {@code ~/.cache/7stamp-chroot} (bookworm keeps its old folder names).
 */
enum DebianRelease {
    BOOKWORM("bookworm", "openjdk-17-jre-headless", 17),
    TRIXIE("trixie", "openjdk-21-jre-headless", 21);

    private static final Path CACHES = Path.of(System.getProperty("user.home"), ".cache", "7stamp-chroot");

    private final String suite;
    private final String javaPackage;
    private final int javaFeature;

    DebianRelease(String suite, String javaPackage, int javaFeature) {
        this.suite = suite;
        this.javaPackage = javaPackage;
        this.javaFeature = javaFeature;
    }

    String suite() {
        return suite;
    }

    /** The package that gives this release its headless Java runtime (what apt picks for the .deb's Depends). */
    String javaPackage() {
        return javaPackage;
    }

    /** The Java feature release of that package: 17 or 21. */
    int javaFeature() {
        return javaFeature;
    }

    /** debootstrap's --include: the .deb's dependencies as this release provides them. */
    String include() {
        return "adduser," + javaPackage;
    }

    /** The cached minbase tree (DebPackageIT), e.g. {@code bookworm-minbase-jre17}. */
    Path baseCache() {
        return CACHES.resolve(suite + "-minbase-jre" + javaFeature);
    }

    /** The cached tree with systemd (SystemdContainer), next to the minbase one. */
    Path systemdCache() {
        return baseCache().resolveSibling(baseCache().getFileName() + "-systemd");
    }
}
