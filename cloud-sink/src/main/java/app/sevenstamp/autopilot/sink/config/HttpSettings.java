package app.sevenstamp.autopilot.sink.config;

import app.sevenstamp.autopilot.protocol.support.Settings;
import java.time.Duration;
import java.util.Objects;

/**
 * Where the HTTP server listens and what it puts up with. The limits are what keeps one client from
 * holding the server: a connection costs a socket, never a thread, until its request is complete.
 *
 * <p>Its keys, their defaults and what they allow: {@link SinkKeys} (and docs/configuration.md).
 * Request bodies are bounded per route (4 to 16 KB); a larger one is answered 413.
 */
public record HttpSettings(String host, int port, int threads, Duration idleTimeout, Duration headerTimeout,
        int maxConnections, int maxConnectionsPerClient, int maxHeaderBytes) {

    public HttpSettings {
        Objects.requireNonNull(host, "host");
        Objects.requireNonNull(idleTimeout, "idleTimeout");
        Objects.requireNonNull(headerTimeout, "headerTimeout");
    }

    /** Defaults on {@code host:port}: what tests and tools that start a server of their own use. */
    public static HttpSettings on(String host, int port) {
        return new HttpSettings(host, port, 16, Duration.ofSeconds(20), Duration.ofSeconds(10), 2000, 64, 8192);
    }

    static HttpSettings from(Settings s) {
        String host = s.matching(SinkKeys.HTTP_HOST, SinkConfig.HOST, "a host name or IP address");
        int port = s.integer(SinkKeys.HTTP_PORT);
        int threads = s.integer(SinkKeys.HTTP_THREADS);
        Duration idle = s.duration(SinkKeys.HTTP_IDLE_TIMEOUT);
        Duration header = s.duration(SinkKeys.HTTP_HEADER_TIMEOUT);
        int maxConnections = s.integer(SinkKeys.HTTP_MAX_CONNECTIONS);
        int perClient = s.integer(SinkKeys.HTTP_MAX_CONNECTIONS_PER_CLIENT);
        int headerBytes = s.integer(SinkKeys.HTTP_MAX_HEADER_BYTES);
        return new HttpSettings(host, port, threads, idle, header, maxConnections, perClient, headerBytes);
    }
}
