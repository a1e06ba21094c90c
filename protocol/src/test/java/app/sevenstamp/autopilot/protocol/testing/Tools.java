package app.sevenstamp.autopilot.protocol.testing;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * Finds the external programs the integration tests run. A missing tool fails the test with the
 * Debian package to install: tests never skip for a missing tool (scripts/test installs them).
 */
public final class Tools {
    private Tools() {
    }

    public static Path require(String program, String debianPackage) {
        List<String> dirs = new java.util.ArrayList<>(List.of("/usr/sbin", "/usr/bin", "/usr/local/sbin", "/usr/local/bin", "/sbin", "/bin"));
        String path = System.getenv("PATH");
        if (path != null) {
            dirs.addAll(0, List.of(path.split(":")));
        }
        for (String dir : dirs) {
            Path candidate = Path.of(dir, program);
            if (Files.isExecutable(candidate)) {
                return candidate;
            }
        }
        throw new AssertionError(program + " is not installed: install the Debian package '" + debianPackage
                + "' (scripts/test does this when run as root)");
    }
}
