package app.sevenstamp.autopilot.protocol.testing;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.IntPredicate;

/**
 * A TCP server on a loopback port that accepts every connection and, for the first {@code silent}
 * ones, reads and discards what the client sends and never answers, holding the connection open until
 * it is closed: a stalled broker, a proxy whose upstream hangs, a hostile host on the shop network.
 * Later connections are forwarded byte for byte to {@code target} (a real broker), if there is one.
 * Each connection has its own threads; {@link #close()} closes every socket.
 */
public final class StallingProxy implements AutoCloseable {
    private final ServerSocket server;
    private final IntPredicate silent;
    private final InetSocketAddress target;
    private final AtomicInteger accepted = new AtomicInteger();
    private final AtomicInteger silentOpen = new AtomicInteger();
    private final List<Socket> sockets = new CopyOnWriteArrayList<>();
    private final List<Socket> forwarded = new CopyOnWriteArrayList<>();
    private volatile boolean closed;
    private volatile boolean frozen;

    private StallingProxy(IntPredicate silent, InetSocketAddress target) {
        this.silent = silent;
        this.target = target;
        try {
            server = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        Thread acceptor = new Thread(this::accept, "stalling-proxy-accept");
        acceptor.setDaemon(true);
        acceptor.start();
    }

    /** Silent for every connection. */
    public static StallingProxy silentForever() {
        return new StallingProxy(n -> true, null);
    }

    /** Silent for the first {@code connections}, then a transparent proxy to the broker at {@code brokerUrl} (tcp://host:port). */
    public static StallingProxy silentFor(int connections, String brokerUrl) {
        return silentOn(n -> n <= connections, brokerUrl);
    }

    /** Silent for the connections whose number (from 1) {@code silent} accepts, a proxy to the broker for the others. */
    public static StallingProxy silentOn(IntPredicate silent, String brokerUrl) {
        java.net.URI uri = java.net.URI.create(brokerUrl);
        return new StallingProxy(silent, new InetSocketAddress(uri.getHost(), uri.getPort()));
    }

    /** Cuts every forwarded connection, as a broker that goes away does; new connections are accepted as before. */
    public void dropForwarded() {
        forwarded.forEach(StallingProxy::closeQuietly);
        forwarded.clear();
    }

    /**
     * Every forwarded connection goes dead without closing, as one through a NAT that forgot it or a Wi-Fi that
     * dropped does: bytes either way are read and discarded, and the client's socket stays open when the broker
     * closes its side. New connections are forwarded as before once {@link #thaw()} is called.
     */
    public void freezeForwarded() {
        frozen = true;
    }

    /** Forwards again (connections made while frozen included; ones the broker closed meanwhile stay dead). */
    public void thaw() {
        frozen = false;
    }

    public String url() {
        return "tcp://127.0.0.1:" + server.getLocalPort();
    }

    /** TCP connections accepted so far. */
    public int accepted() {
        return accepted.get();
    }

    /** Silent connections the client has not closed yet (a client that leaks one per retry runs out of sockets). */
    public int silentOpen() {
        return silentOpen.get();
    }

    private void accept() {
        while (!closed) {
            Socket client;
            try {
                client = server.accept();
            } catch (IOException e) {
                return; // closed
            }
            sockets.add(client);
            int n = accepted.incrementAndGet();
            if (target == null || silent.test(n)) {
                silentOpen.incrementAndGet();
                pump("stalling-proxy-silent-" + n, client, null);
                continue;
            }
            Socket upstream = new Socket();
            sockets.add(upstream);
            try {
                upstream.connect(target, 5000);
            } catch (IOException e) {
                closeQuietly(client);
                closeQuietly(upstream);
                continue;
            }
            forwarded.add(client);
            pump("stalling-proxy-up-" + n, client, upstream);
            pump("stalling-proxy-down-" + n, upstream, client);
        }
    }

    /** Copies from {@code from} to {@code to} (or discards, {@code to} null) until either side closes. */
    private void pump(String name, Socket from, Socket to) {
        Thread t = new Thread(() -> {
            byte[] buffer = new byte[8192];
            try (InputStream in = from.getInputStream()) {
                OutputStream out = to == null ? OutputStream.nullOutputStream() : to.getOutputStream();
                int n;
                while ((n = in.read(buffer)) >= 0) {
                    if (!frozen) {
                        out.write(buffer, 0, n);
                        out.flush();
                    }
                }
            } catch (IOException e) {
                // one side closed
            } finally {
                if (to == null) {
                    silentOpen.decrementAndGet();
                }
                closeQuietly(from);
                if (to != null && !frozen) {
                    closeQuietly(to); // frozen: the other side is not told, as through a dead link
                }
            }
        }, name);
        t.setDaemon(true);
        t.start();
    }

    private static void closeQuietly(Socket s) {
        try {
            s.close();
        } catch (IOException ignored) {
            // closing
        }
    }

    @Override
    public void close() {
        closed = true;
        try {
            server.close();
        } catch (IOException ignored) {
            // closing
        }
        sockets.forEach(StallingProxy::closeQuietly);
    }
}
