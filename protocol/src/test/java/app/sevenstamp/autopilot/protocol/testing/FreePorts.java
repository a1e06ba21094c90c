package app.sevenstamp.autopilot.protocol.testing;

import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A free loopback port for a server that cannot bind port 0 itself (Mosquitto, Artemis, PostgreSQL) or that must
 * come back on the same port after a restart.
 *
 * <p>The port comes from below the kernel's ephemeral range ({@code net.ipv4.ip_local_port_range}), never from
 * inside it. A port inside it can be taken between the pick and the server's bind, or between a kill and a
 * restart, by any outgoing connection of any process: the kernel hands those out from the same range. That
 * happened in CI: an Artemis node found its MQTT port taken, stopped with "AMQ224104: Error starting the
 * Acceptor", and its peer waited for a bridge that never came. Below the range only another listener can
 * take a port, and each pick is checked by binding it; a JVM walks the range from a random start so that two
 * JVMs seldom try the same ports.
 */
public final class FreePorts {
    private static final int LOWEST = 10_000;
    private static final int EPHEMERAL_LOW = ephemeralLow();
    private static final AtomicInteger NEXT = new AtomicInteger(ThreadLocalRandom.current().nextInt(EPHEMERAL_LOW - LOWEST));

    private FreePorts() {
    }

    public static int pick() {
        int span = EPHEMERAL_LOW - LOWEST;
        for (int tries = 0; tries < span; tries++) {
            int port = LOWEST + Math.floorMod(NEXT.getAndIncrement(), span);
            try (ServerSocket socket = new ServerSocket(port, 1, InetAddress.getLoopbackAddress())) {
                return port;
            } catch (IOException inUse) {
                // a listener of someone else's: try the next one
            }
        }
        throw new IllegalStateException("no free loopback port in " + LOWEST + ".." + (EPHEMERAL_LOW - 1));
    }

    /** The low end of the kernel's ephemeral port range; Linux's default where it cannot be read. */
    private static int ephemeralLow() {
        try {
            // readAllLines, not readString: readString read "3" here (its first read is one byte, and the kernel does not
            // continue a /proc/sys number from an offset)
            String range = Files.readAllLines(Path.of("/proc/sys/net/ipv4/ip_local_port_range")).get(0).trim();
            int low = Integer.parseInt(range.split("\\s+")[0]);
            if (low > LOWEST + 1_000) {
                return low;
            }
            throw new IllegalStateException("the ephemeral port range starts at " + low + " (" + range
                    + "): the tests need ports " + LOWEST + ".." + (LOWEST + 1_000) + " outside it");
        } catch (IOException | NumberFormatException e) {
            return 32_768;
        }
    }
}
