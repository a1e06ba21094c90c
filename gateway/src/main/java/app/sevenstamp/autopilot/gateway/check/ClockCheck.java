package app.sevenstamp.autopilot.gateway.check;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;

/**
 * Whether the system clock is synchronised. A Pi has no real-time clock: until NTP answers after boot the
 * clock can be days off. Scans made before the sync are corrected afterwards (outbox ClockCorrection), so
 * an unsynchronised clock is a warning, not a failure.
 */
final class ClockCheck implements Check {
    /** What was found and how. @param synced empty when it cannot be told */
    record State(Optional<Boolean> synced, String how) {
    }

    private final Supplier<State> state;

    ClockCheck(Supplier<State> state) {
        this.state = state;
    }

    @Override
    public List<CheckLine> run() {
        State s = state.get();
        if (s.synced().isEmpty()) {
            return List.of(CheckLine.warn("clock", "cannot tell whether it is synchronised (" + s.how() + ")"));
        }
        if (s.synced().get()) {
            return List.of(CheckLine.ok("clock", "synchronised (" + s.how() + ")"));
        }
        return List.of(CheckLine.warn("clock", "not synchronised (" + s.how() + "): scans are stamped with the clock "
                + "corrected after the sync; check the network and 'timedatectl timesync-status'"));
    }

    /**
     * {@code timedatectl show -p NTPSynchronized --value} (systemd), else the flag file systemd-timesyncd
     * touches once synchronised ({@code /run/systemd/timesync/synchronized}).
     */
    static State system(Path root) {
        try {
            Process p = new ProcessBuilder("timedatectl", "show", "-p", "NTPSynchronized", "--value")
                    .redirectErrorStream(true).start();
            if (p.waitFor(5, TimeUnit.SECONDS)) {
                String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim();
                if (p.exitValue() == 0 && (out.equals("yes") || out.equals("no"))) {
                    return new State(Optional.of(out.equals("yes")), "timedatectl: NTPSynchronized=" + out);
                }
            } else {
                p.destroyForcibly();
            }
        } catch (IOException e) {
            // no timedatectl (a container): the flag file below
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        Path flag = root.resolve("run/systemd/timesync/synchronized");
        if (Files.exists(flag)) {
            return new State(Optional.of(true), flag + " exists");
        }
        return new State(Optional.empty(), "no answer from timedatectl and no " + flag);
    }
}
