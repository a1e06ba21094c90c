package app.sevenstamp.autopilot.protocol.support;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.tinylog.Logger;

/**
 * Tells systemd about the service's state (sd_notify): READY=1 once it serves, WATCHDOG=1 while it
 * is healthy, EXTEND_TIMEOUT_USEC while a slow start works, STOPPING=1 when it stops, STATUS= for
 * {@code systemctl status}.
 *
 * <p>{@code NOTIFY_SOCKET} is a Unix datagram socket, which the JDK cannot send on (its Unix sockets
 * are streams only), so each message is sent by running {@code systemd-notify} with the assignments as
 * arguments. The unit needs {@code NotifyAccess=all}, since the sender is a child process; since
 * systemd 250 {@code systemd-notify} waits (BARRIER=1) until the manager has read the message, so the
 * child does not exit before systemd could attribute it to our unit.
 *
 * <p>Outside systemd ({@code NOTIFY_SOCKET} unset) every call does nothing, so the daemon runs the
 * same on a laptop. Thread-safe: no state besides the immutable environment.
 */
public final class SystemdNotifier {
    private static final Duration SEND_TIMEOUT = Duration.ofSeconds(5);

    private final String socket;
    private final String command;
    private final Duration watchdog;

    private SystemdNotifier(String socket, String command, Duration watchdog) {
        this.socket = socket;
        this.command = command;
        this.watchdog = watchdog;
    }

    /** From this process's environment, sending with {@code systemd-notify} from the PATH. */
    public static SystemdNotifier fromEnvironment() {
        return fromEnvironment(System.getenv(), "systemd-notify", ProcessHandle.current().pid());
    }

    /**
     * @param env     the environment to read NOTIFY_SOCKET, WATCHDOG_USEC and WATCHDOG_PID from
     * @param command the {@code systemd-notify} program to run
     * @param pid     this process's id: a WATCHDOG_PID of another process means the watchdog is not ours
     */
    public static SystemdNotifier fromEnvironment(Map<String, String> env, String command, long pid) {
        Objects.requireNonNull(command, "command");
        String socket = env.get("NOTIFY_SOCKET");
        if (socket == null || socket.isBlank()) {
            return new SystemdNotifier(null, command, null);
        }
        Duration watchdog = null;
        String usec = env.get("WATCHDOG_USEC");
        String watchdogPid = env.get("WATCHDOG_PID");
        if (usec != null && (watchdogPid == null || watchdogPid.equals(Long.toString(pid)))) {
            try {
                long micros = Long.parseLong(usec.trim());
                if (micros > 0) {
                    watchdog = Duration.ofNanos(TimeUnit.MICROSECONDS.toNanos(micros));
                }
            } catch (NumberFormatException e) {
                Logger.warn("WATCHDOG_USEC '{}' is not a number; the systemd watchdog is not fed", usec);
            }
        }
        return new SystemdNotifier(socket, command, watchdog);
    }

    /** True under systemd with Type=notify (NOTIFY_SOCKET set). */
    public boolean active() {
        return socket != null;
    }

    /** The unit's WatchdogSec=, when the watchdog is on and meant for this process. */
    public Optional<Duration> watchdogInterval() {
        return Optional.ofNullable(watchdog);
    }

    /** Start-up is complete; {@code status} shows in {@code systemctl status}. */
    public boolean ready(String status) {
        return send(List.of("READY=1", "STATUS=" + oneLine(status), "MAINPID=" + ProcessHandle.current().pid()));
    }

    /** All of the service's own threads are healthy: resets the watchdog timer. */
    public boolean watchdog() {
        return send(List.of("WATCHDOG=1"));
    }

    /**
     * The current phase (the start, here) may take {@code more} than the unit's timeout for it, from now on
     * (EXTEND_TIMEOUT_USEC, systemd 236 and later): systemd never shortens a timeout for it, and the service
     * must ask again before {@code more} has passed.
     */
    public boolean extendTimeout(Duration more, String status) {
        return send(List.of("EXTEND_TIMEOUT_USEC=" + TimeUnit.NANOSECONDS.toMicros(more.toNanos()), "STATUS=" + oneLine(status)));
    }

    public boolean status(String status) {
        return send(List.of("STATUS=" + oneLine(status)));
    }

    public boolean stopping() {
        return send(List.of("STOPPING=1", "STATUS=stopping"));
    }

    /** The command line for these assignments; what {@link #send} runs. */
    public List<String> commandLine(List<String> assignments) {
        List<String> line = new ArrayList<>();
        line.add(command);
        line.addAll(assignments);
        return line;
    }

    private boolean send(List<String> assignments) {
        if (socket == null) {
            return false;
        }
        ProcessBuilder pb = new ProcessBuilder(commandLine(assignments)).redirectErrorStream(true);
        pb.environment().put("NOTIFY_SOCKET", socket);
        try {
            Process p = pb.start();
            p.getOutputStream().close();
            if (!p.waitFor(SEND_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS)) {
                p.destroyForcibly();
                Logger.warn("{} did not finish within {} s; systemd may not have got {}", command,
                        SEND_TIMEOUT.toSeconds(), assignments.get(0));
                return false;
            }
            if (p.exitValue() != 0) {
                String output = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim();
                Logger.warn("{} {} failed with status {}: {}", command, assignments.get(0), p.exitValue(), output);
                return false;
            }
            return true;
        } catch (IOException e) {
            Logger.warn("cannot run {} to tell systemd {}: {} (install systemd, or run without Type=notify)",
                    command, assignments.get(0), e.getMessage());
            return false;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        }
    }

    private static String oneLine(String text) {
        return text.replaceAll("[\\r\\n]+", " ");
    }
}
