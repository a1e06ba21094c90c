package app.sevenstamp.autopilot.sink.config;

import app.sevenstamp.autopilot.protocol.support.Settings;
import java.time.Duration;
import java.util.Objects;

/**
 * Where the HTTP server listens and what it puts up with. The limits are what keeps one client from
 * holding the server: a connection costs a socket, never a thread, until its request is complete.
 *
 * <table>
 * <caption>Keys</caption>
 * <tr><th>key</th><th>default</th><th>allowed</th></tr>
 * <tr><td>{@code http.host}</td><td>{@code 127.0.0.1}</td><td>the address the HTTP server listens on</td></tr>
 * <tr><td>{@code http.port}</td><td>{@code 8080}</td><td>0..65535; 0 picks a free port</td></tr>
 * <tr><td>{@code http.threads}</td><td>{@code 16}</td><td>4..200: threads that run requests (the connections
 *     themselves are watched by one selector, whatever their number)</td></tr>
 * <tr><td>{@code http.idleTimeout}</td><td>{@code 20s}</td><td>1s..10m: a connection that sends nothing this long
 *     is closed; 2 s while the server is at {@code http.maxConnections}</td></tr>
 * <tr><td>{@code http.headerTimeout}</td><td>{@code 10s}</td><td>1s..5m: a new connection must have sent a whole
 *     request head by then, or it is closed (a client dripping one header line at a time)</td></tr>
 * <tr><td>{@code http.maxConnections}</td><td>{@code 2000}</td><td>10..100000 open connections in all</td></tr>
 * <tr><td>{@code http.maxConnectionsPerClient}</td><td>{@code 64}</td><td>0..100000 open connections per client
 *     address; 0 turns the limit off (behind a reverse proxy every client has the proxy's address)</td></tr>
 * <tr><td>{@code http.maxHeaderBytes}</td><td>{@code 8192}</td><td>1024..65536: request line and headers</td></tr>
 * </table>
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
        String host = s.matching("http.host", "127.0.0.1", SinkConfig.HOST, "a host name or IP address");
        int port = s.integer("http.port", 8080, 0, 65535);
        int threads = s.integer("http.threads", 16, 4, 200);
        Duration idle = s.duration("http.idleTimeout", Duration.ofSeconds(20), Duration.ofSeconds(1), Duration.ofMinutes(10));
        Duration header = s.duration("http.headerTimeout", Duration.ofSeconds(10), Duration.ofSeconds(1), Duration.ofMinutes(5));
        int maxConnections = s.integer("http.maxConnections", 2000, 10, 100_000);
        int perClient = s.integer("http.maxConnectionsPerClient", 64, 0, 100_000);
        int headerBytes = s.integer("http.maxHeaderBytes", 8192, 1024, 65536);
        return new HttpSettings(host, port, threads, idle, header, maxConnections, perClient, headerBytes);
    }
}
