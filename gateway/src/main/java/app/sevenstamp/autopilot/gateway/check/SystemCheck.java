package app.sevenstamp.autopilot.gateway.check;

import app.sevenstamp.autopilot.gateway.feedback.Board;
import app.sevenstamp.autopilot.gateway.feedback.GpioHost;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.stream.Collectors;

/**
 * The board (from the device tree), the OS ({@code /etc/os-release}) and the Java running this check.
 * Releases and Java versions the .deb is tested on are OK; others are a warning, not a failure.
 */
final class SystemCheck implements Check {
    /** Debian releases the package is tested on (issue 17): bookworm with OpenJDK 17, trixie with OpenJDK 21. */
    static final List<String> TESTED_RELEASES = List.of("bookworm", "trixie");

    private final GpioHost host;
    private final Path osRelease;
    private final Runtime.Version java;

    SystemCheck(GpioHost host, Path osRelease, Runtime.Version java) {
        this.host = host;
        this.osRelease = osRelease;
        this.java = java;
    }

    @Override
    public List<CheckLine> run() {
        return List.of(board(), os(), java());
    }

    private CheckLine board() {
        String model = host.model();
        Optional<Board> board = host.board();
        if (board.isPresent()) {
            return CheckLine.ok("board", model + " (" + board.get().name() + ": gpiochip " + String.join(" or ",
                    board.get().labels()) + ", PWM " + board.get().pwmDevice() + ")");
        }
        return CheckLine.warn("board", (model.equals("unknown") ? "no " + host.root().resolve("proc/device-tree/model")
                : "'" + model + "'") + ": not a board this gateway knows (" + Board.knownNames() + ")");
    }

    private CheckLine os() {
        Map<String, String> release;
        try {
            release = Files.readAllLines(osRelease).stream().filter(l -> l.contains("="))
                    .collect(Collectors.toMap(l -> l.substring(0, l.indexOf('=')),
                            l -> l.substring(l.indexOf('=') + 1).replaceAll("^\"|\"$", ""), (a, b) -> b));
        } catch (IOException | SecurityException e) {
            return CheckLine.warn("os", "cannot read " + osRelease + ": " + e.getMessage());
        }
        String name = release.getOrDefault("PRETTY_NAME", release.getOrDefault("NAME", "unknown"));
        String codename = release.getOrDefault("VERSION_CODENAME", "");
        String arch = System.getProperty("os.arch");
        if (TESTED_RELEASES.contains(codename)) {
            return CheckLine.ok("os", name + ", " + arch);
        }
        return CheckLine.warn("os", name + ", " + arch + ": the package is tested on Debian "
                + String.join(" and ", TESTED_RELEASES) + " (Raspberry Pi OS is built on them)");
    }

    private CheckLine java() {
        String text = "Java " + java + " (" + System.getProperty("java.vm.name", "?") + ", "
                + System.getProperty("java.home", "?") + ")";
        return java.feature() >= 17 ? CheckLine.ok("java", text)
                : CheckLine.fail("java", text + ": the gateway needs Java 17 or later");
    }
}
