package app.sevenstamp.autopilot.sink.web;

import app.sevenstamp.autopilot.sink.config.HttpSettings;
import java.io.UncheckedIOException;
import org.eclipse.jetty.server.HttpConfiguration;
import org.eclipse.jetty.server.HttpConnectionFactory;
import org.eclipse.jetty.server.NetworkConnectionLimit;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;
import org.eclipse.jetty.server.handler.MinimumDataRateHandler;
import org.eclipse.jetty.util.thread.QueuedThreadPool;
import org.tinylog.Logger;

/**
 * The sink's HTTP server: Jetty 12 (its core API, without servlets) serving one {@link Router}.
 * A connection is watched by Jetty's selector and costs no thread until a whole request has arrived,
 * so silent or slow clients cannot take the threads that answer everyone else. The limits:
 * {@link HttpSettings} (idle and header timeouts, connections in all and per client, header size);
 * request bodies are bounded by each route ({@link Exchange#body}), and a body slower than 256 bytes
 * per second is cut off.
 */
public final class WebServer implements AutoCloseable {
    /** When this full, the idle timeout of every open connection drops to 2 s: the quiet ones make room. */
    private static final long CROWDED_IDLE_MS = 2_000;
    private static final long MIN_BODY_RATE = 256;

    private final Server server;
    private final ServerConnector connector;
    private final ClientLimits limits;

    private WebServer(Server server, ServerConnector connector, ClientLimits limits) {
        this.server = server;
        this.connector = connector;
        this.limits = limits;
    }

    /** Binds {@code http.host:http.port} (0 picks a free port) and serves the router's routes. */
    public static WebServer start(HttpSettings settings, Router router) {
        // two more than the request threads: Jetty's acceptor and selector live in the same pool. Its queue is
        // Jetty's unbounded one (a bounded queue makes Jetty drop its own internal tasks); what bounds the work
        // waiting in it is the connection limit, one request at a time per HTTP/1.1 connection
        QueuedThreadPool pool = new QueuedThreadPool(settings.threads() + 2, Math.min(4, settings.threads()), 60_000);
        pool.setName("http");
        Server server = new Server(pool);
        HttpConfiguration http = new HttpConfiguration();
        http.setRequestHeaderSize(settings.maxHeaderBytes());
        http.setSendServerVersion(false);
        http.setSendXPoweredBy(false);
        ServerConnector connector = new ServerConnector(server, 1, 1, new HttpConnectionFactory(http));
        connector.setHost(settings.host());
        connector.setPort(settings.port());
        connector.setIdleTimeout(settings.idleTimeout().toMillis());
        connector.setAcceptQueueSize(128);
        server.addConnector(connector);
        NetworkConnectionLimit total = new NetworkConnectionLimit(settings.maxConnections(), connector);
        total.setEndPointIdleTimeout(CROWDED_IDLE_MS);
        server.addBean(total);
        ClientLimits limits = new ClientLimits(settings.maxConnectionsPerClient(), settings.headerTimeout(),
                server.getScheduler());
        connector.addBean(limits);
        server.setHandler(new MinimumDataRateHandler(router.handler(), MIN_BODY_RATE, 0));
        server.setErrorHandler(new ProblemErrors());
        server.setStopTimeout(1_000);
        try {
            server.start();
        } catch (Exception e) {
            try {
                server.stop();
            } catch (Exception ignored) {
                Logger.debug("stopping the HTTP server after a failed start: {}", ignored.getMessage());
            }
            throw new UncheckedIOException("the HTTP server cannot listen on " + settings.host() + ":" + settings.port()
                    + " (http.host, http.port): " + e.getMessage(), new java.io.IOException(e));
        }
        Logger.info("HTTP server listening on http://{}:{} ({} threads, idle timeout {} s, at most {} connections, {} per client)",
                settings.host(), connector.getLocalPort(), settings.threads(), settings.idleTimeout().toSeconds(),
                settings.maxConnections(), settings.maxConnectionsPerClient() == 0 ? "any" : settings.maxConnectionsPerClient());
        return new WebServer(server, connector, limits);
    }

    public int port() {
        return connector.getLocalPort();
    }

    /** Connections closed because their client address held too many. */
    public long refusedConnections() {
        return limits.refused();
    }

    /** Connections closed because their first request head did not arrive in time. */
    public long headerTimeouts() {
        return limits.headerTimeouts();
    }

    /** Stops accepting, gives requests in progress up to 1 s. */
    @Override
    public void close() {
        try {
            server.stop();
        } catch (Exception e) {
            Logger.warn("HTTP server stop: {}", e.getMessage());
        }
        Logger.info("HTTP server stopped");
    }
}
