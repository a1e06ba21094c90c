package app.sevenstamp.autopilot.sink.web;

import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.time.Duration;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.eclipse.jetty.io.Connection;
import org.eclipse.jetty.util.thread.Scheduler;
import org.tinylog.Logger;

/**
 * What Jetty does not bound by itself, per connection: how many one client address may hold open,
 * and how long a new connection may take to send its first request head. The second is what stops a
 * client that drips one header line every few seconds: such a connection never goes idle long enough
 * for the idle timeout, and without this it would hold its socket for as long as it likes.
 */
final class ClientLimits implements Connection.Listener {
    private final int perClient;
    private final Duration headerTimeout;
    private final Scheduler scheduler;
    private final ConcurrentHashMap<String, AtomicInteger> open = new ConcurrentHashMap<>();
    /** Each open connection's client address, as it was when it opened: once the socket is closed its remote
     *  address is gone (null), so reading it again in onClosed would count the close against "null", and the
     *  address would keep every connection it ever had until it was refused for good. */
    private final ConcurrentHashMap<Connection, String> clients = new ConcurrentHashMap<>();
    private final AtomicLong refused = new AtomicLong();
    private final AtomicLong headerTimeouts = new AtomicLong();

    /** @param perClient 0 for no limit per address */
    ClientLimits(int perClient, Duration headerTimeout, Scheduler scheduler) {
        this.perClient = perClient;
        this.headerTimeout = headerTimeout;
        this.scheduler = scheduler;
    }

    @Override
    public void onOpened(Connection connection) {
        String client = client(connection.getEndPoint().getRemoteSocketAddress());
        clients.put(connection, client);
        int now = open.computeIfAbsent(client, c -> new AtomicInteger()).incrementAndGet();
        if (perClient > 0 && now > perClient) {
            long n = refused.incrementAndGet();
            if (Long.bitCount(n) == 1) { // 1, 2, 4, 8...: a flood does not flood the log
                Logger.warn("HTTP: {} holds {} connections (http.maxConnectionsPerClient={}); closing the newest ({} so far)",
                        client, now, perClient, n);
            }
            connection.getEndPoint().close();
            return;
        }
        scheduler.schedule(() -> {
            if (connection.getMessagesIn() == 0 && connection.getEndPoint().isOpen()) {
                headerTimeouts.incrementAndGet();
                Logger.debug("HTTP: {} sent no whole request within {} ms; closed", client, headerTimeout.toMillis());
                connection.getEndPoint().close();
            }
        }, headerTimeout.toMillis(), TimeUnit.MILLISECONDS);
    }

    @Override
    public void onClosed(Connection connection) {
        String client = clients.remove(connection);
        if (client != null) {
            open.computeIfPresent(client, (c, n) -> n.decrementAndGet() <= 0 ? null : n);
        }
    }

    long refused() {
        return refused.get();
    }

    long headerTimeouts() {
        return headerTimeouts.get();
    }

    private static String client(SocketAddress address) {
        return address instanceof InetSocketAddress a && a.getAddress() != null ? a.getAddress().getHostAddress()
                : String.valueOf(address);
    }
}
