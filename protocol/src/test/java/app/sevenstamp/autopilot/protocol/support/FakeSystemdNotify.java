package app.sevenstamp.autopilot.protocol.support;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.Map;

/**
 * A script in place of {@code systemd-notify} that records each assignment it was given, a line each, so that a test
 * reads back what systemd would have got.
 */
final class FakeSystemdNotify {
    private final Path script;
    private final Path calls;

    private FakeSystemdNotify(Path script, Path calls) {
        this.script = script;
        this.calls = calls;
    }

    /** Writes the script into {@code dir}. */
    static FakeSystemdNotify in(Path dir) throws IOException {
        Path script = dir.resolve("systemd-notify");
        Path calls = dir.resolve("calls");
        Files.writeString(script, "#!/bin/sh\nfor a in \"$@\"; do echo \"$a\" >> " + calls + "; done\n");
        Files.setPosixFilePermissions(script, PosixFilePermissions.fromString("rwx------"));
        return new FakeSystemdNotify(script, calls);
    }

    /** A notifier that runs this script, with {@code env} as the process's environment (NOTIFY_SOCKET and the rest). */
    SystemdNotifier notifier(Map<String, String> env) {
        return SystemdNotifier.fromEnvironment(env, script.toString(), 1);
    }

    /** What the script was given so far, oldest first. */
    List<String> calls() throws IOException {
        return Files.exists(calls) ? Files.readAllLines(calls) : List.of();
    }
}
