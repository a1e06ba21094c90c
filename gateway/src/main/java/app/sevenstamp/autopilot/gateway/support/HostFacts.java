package app.sevenstamp.autopilot.gateway.support;

import java.io.IOException;
import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.UUID;
import java.util.function.BooleanSupplier;
import org.tinylog.Logger;

/** What the gateway reads about the machine it runs on. Each method reads the outside world once per call. */
public final class HostFacts {
    private static final Path BOOT_ID = Path.of("/proc/sys/kernel/random/boot_id");
    private static final Path KERNEL_HOSTNAME = Path.of("/proc/sys/kernel/hostname");
    private static final Path TIMESYNC_FLAG = Path.of("/run/systemd/timesync/synchronized");

    private HostFacts() {
    }

    /**
     * The kernel's boot id, which scopes monotonic timestamps. Off Linux (a developer laptop) a random
     * id per run: monotonic times of two runs are then never compared, which is the safe side.
     */
    public static String bootId() {
        try {
            String id = Files.readString(BOOT_ID, StandardCharsets.US_ASCII).trim();
            if (!id.isEmpty()) {
                return id;
            }
        } catch (IOException | SecurityException e) {
            Logger.debug("no boot id at {} ({}); using a random id for this run", BOOT_ID, e.toString());
        }
        return UUID.randomUUID().toString();
    }

    /** True once systemd-timesyncd has synchronised the wall clock; checked per stamp because it flips at run time. */
    public static BooleanSupplier clockSynced() {
        return () -> Files.exists(TIMESYNC_FLAG);
    }

    /** The host name, or {@code gateway} when the resolver cannot tell. */
    public static String hostName() {
        // the kernel's own name first: InetAddress may wait for DNS, which a shop's network may not have
        try {
            String name = Files.readString(KERNEL_HOSTNAME, StandardCharsets.US_ASCII).trim();
            if (!name.isEmpty()) {
                return name;
            }
        } catch (IOException | SecurityException e) {
            Logger.debug("no host name at {} ({})", KERNEL_HOSTNAME, e.toString());
        }
        try {
            return InetAddress.getLocalHost().getHostName();
        } catch (IOException e) {
            return "gateway";
        }
    }
}
