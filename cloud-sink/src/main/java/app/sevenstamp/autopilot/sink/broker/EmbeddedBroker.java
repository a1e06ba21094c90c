package app.sevenstamp.autopilot.sink.broker;

import app.sevenstamp.autopilot.protocol.support.NamedThreads;
import io.moquette.broker.Server;
import io.moquette.broker.security.IAuthenticator;
import io.moquette.broker.security.IAuthorizatorPolicy;
import io.moquette.broker.config.IConfig;
import io.moquette.broker.config.MemoryConfig;
import io.moquette.interception.AbstractInterceptHandler;
import io.moquette.interception.InterceptHandler;
import io.moquette.interception.messages.InterceptExceptionMessage;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.time.Duration;
import java.util.List;
import java.util.Properties;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;
import org.tinylog.Logger;

/**
 * Moquette 0.17 inside the sink's JVM: the single-box default. In-memory only (persistence off:
 * the sink's database is the record, and a restarted broker starts empty), telemetry off (it would
 * phone home), anonymous clients allowed (listen on loopback, or use an external broker with
 * per-device credentials). MQTT 3.1.1, no shared subscriptions.
 *
 * <p>For port 0 the sink picks a free port itself before starting: Moquette records the bound port
 * from a netty listener that may run after {@code startServer} returns, so asking it is a race.
 *
 * <p>Moquette 0.17 runs each client's session on one of a few session loops (one per CPU), and a loop
 * whose command throws ends for good: every client hashed to it then hangs, boxes and the sink's own
 * sessions alike. Two causes are known, and a stranger with the public provisioning login can produce
 * both: a PUBLISH marked DUP ({@link MoquetteGuard} passes it on unmarked), and a PUBACK racing a takeover
 * of its client id (its issues #573, #773: the message's buffer released twice). Moquette tells an
 * intercept handler; the dead loop then gets a new thread on its queue ({@link SessionLoops}, named
 * thread {@code broker-restart}), which costs the one failed command. Where that cannot be done the
 * broker restarts on the same port. Nothing is lost by either: the broker keeps nothing the sink needs
 * (boxes resend from their outbox until acknowledged, the sink acknowledges only what it committed), and
 * after a restart every client reconnects with its backoff.
 */
public final class EmbeddedBroker implements AutoCloseable {
    /** Larger than any payload the wire codec accepts, so an oversized event reaches the sink and is
     *  counted there instead of making the broker drop the gateway's connection. */
    static final int MAX_MESSAGE_BYTES = 64 * 1024;
    private static final int BIND_ATTEMPTS = 3;
    /**
     * Commands each Moquette session loop holds (its default 1,024). Moquette drops a command that does not fit,
     * whoever's it is; {@link MoquetteGuard} holds clients back once a queue is three quarters full, so what a
     * client reads in one go (a few hundred small messages) still fits.
     */
    static final int SESSION_QUEUE = 4096;

    private final String host;
    private final int port;
    /** Who may connect and what each may publish or read; null: anonymous clients, everything allowed. */
    private final Access access;
    private final ExecutorService restarter = Executors.newSingleThreadExecutor(NamedThreads.daemon("broker-restart"));
    private final AtomicBoolean restarting = new AtomicBoolean();
    private final AtomicInteger restarts = new AtomicInteger();
    private final AtomicInteger loopFailures = new AtomicInteger();
    private final AtomicInteger revivals = new AtomicInteger();
    /** Moquette's session loops; null where they cannot be reached (then a dead loop restarts the broker). */
    private volatile SessionLoops loops;
    /** The guards' settings and counts; made at start, kept across restarts. */
    private final MoquetteGuard.Policy guard;
    private volatile Server server;
    private volatile boolean closed;

    private EmbeddedBroker(String host, int port, Access access) {
        this.host = host;
        this.port = port;
        this.access = access;
        this.guard = new MoquetteGuard.Policy(access == null ? null : access.publicClientPrefix(), () -> {
            SessionLoops current = loops; // the running broker's, after a restart the new one's
            return current != null && current.crowded(SESSION_QUEUE / 4);
        });
    }

    /**
     * Starts the broker on {@code host:port}; port 0 picks a free one.
     *
     * @throws UncheckedIOException when the port cannot be bound
     */
    public static EmbeddedBroker start(String host, int port) {
        return start(host, port, null);
    }

    /**
     * As {@link #start(String, int)}; with {@code access} (fleet provisioning on) anonymous clients are
     * refused and every client is checked by the fleet's authenticator and ACL policy.
     */
    public static EmbeddedBroker start(String host, int port, Access access) {
        long t0 = System.nanoTime();
        RuntimeException last = null;
        for (int attempt = 1; attempt <= (port == 0 ? BIND_ATTEMPTS : 1); attempt++) {
            int chosen = port == 0 ? freePort(host) : port;
            EmbeddedBroker broker = new EmbeddedBroker(host, chosen, access);
            try {
                broker.server = broker.newServer();
                Logger.info("embedded MQTT broker listening on {}:{} ({} ms)", host, chosen,
                        (System.nanoTime() - t0) / 1_000_000);
                return broker;
            } catch (IOException | RuntimeException e) {
                // A free port picked above can be taken by someone else before Moquette binds it.
                last = e instanceof RuntimeException r ? r : new UncheckedIOException(e.getMessage(), (IOException) e);
                broker.restarter.shutdown();
                Logger.debug("embedded broker could not bind {}:{} (attempt {}): {}", host, chosen, attempt, e.getMessage());
            }
        }
        throw new UncheckedIOException("the embedded MQTT broker cannot listen on " + host + ":" + port
                + " (broker.host, broker.port): " + rootMessage(last), new IOException(last));
    }

    /** A started Moquette on this broker's address, watched for dead session loops; stopped again if it fails. */
    private Server newServer() throws IOException {
        Server s = new Server();
        List<InterceptHandler> watch = List.of(new LoopWatch(this::sessionLoopFailed));
        try {
            if (access == null) {
                s.startServer(config(host, port, true), watch);
            } else {
                s.startServer(config(host, port, false), watch, null, access.authenticator(), access.authorizer());
            }
            MoquetteGuard.install(s, guard);
            loops = sessionLoops(s);
            return s;
        } catch (IOException | RuntimeException e) {
            stopQuietly(s);
            throw e;
        }
    }

    private static SessionLoops sessionLoops(Server s) {
        try {
            return SessionLoops.of(s);
        } catch (ReflectiveOperationException | RuntimeException e) {
            Logger.warn("embedded MQTT broker: cannot reach Moquette's session loops ({}); a dead loop will restart the "
                    + "broker instead of getting a new thread", rootMessage(e));
            return null;
        }
    }

    /**
     * A session loop of Moquette ended with {@code error} (reported from its dying thread): give it a
     * new thread, or where that cannot be done restart the broker. Package-private so a test can report
     * one.
     */
    void sessionLoopFailed(Throwable error) {
        if (closed) {
            return;
        }
        loopFailures.incrementAndGet();
        Logger.error("embedded MQTT broker: a session loop died ({})", rootMessage(error));
        restarter.execute(() -> revive(error));
    }

    private void revive(Throwable error) {
        SessionLoops current = loops;
        if (current != null) {
            try {
                int revived = current.reviveDead(Duration.ofSeconds(1));
                revivals.addAndGet(revived);
                if (revived > 0) {
                    Logger.warn("embedded MQTT broker: {} session loop(s) running again on a new thread; the failed "
                            + "command is lost, no client was disconnected", revived);
                }
                return; // none dead: an earlier report's revival already covered this one
            } catch (ReflectiveOperationException | RuntimeException e) {
                Logger.error("embedded MQTT broker: cannot give the dead loop a new thread: {}", rootMessage(e));
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
        }
        restartAfter(error);
    }

    /** Restarts the broker once (further requests while that restart runs are the same failure). */
    void restartAfter(Throwable error) {
        if (closed || !restarting.compareAndSet(false, true)) {
            return;
        }
        Logger.error("embedded MQTT broker: restarting on {}:{} after {}; clients reconnect and boxes resend what was "
                + "not acknowledged", host, port, rootMessage(error));
        restarter.execute(this::restart);
    }

    private void restart() {
        long t0 = System.nanoTime();
        try {
            stop(server, Duration.ofSeconds(3));
            for (int attempt = 1; !closed; attempt++) {
                try {
                    server = newServer();
                    restarts.incrementAndGet();
                    Logger.warn("embedded MQTT broker restarted on {}:{} in {} ms", host, port, (System.nanoTime() - t0) / 1_000_000);
                    return;
                } catch (IOException | RuntimeException e) {
                    // the old listener's port can take a moment to be free again
                    Logger.warn("embedded MQTT broker could not listen again on {}:{} (attempt {}): {}", host, port, attempt,
                            rootMessage(e));
                    Thread.sleep(Math.min(5_000, 250L * attempt));
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } finally {
            restarting.set(false);
        }
    }

    /** How often the broker restarted (a dead session loop that could not get a new thread). */
    public int restarts() {
        return restarts.get();
    }

    /** How many session loop deaths Moquette reported. */
    public int loopFailures() {
        return loopFailures.get();
    }

    /** How many dead session loops got a new thread. */
    public int revivals() {
        return revivals.get();
    }

    /** For the sink's metrics: {@code broker.restarts}, {@code broker.loopFailures}, {@code broker.loopRevivals}, {@code broker.dupPublishes}, {@code broker.publicLoginCuts}, {@code broker.heldBack}, {@code broker.heldForConnack}. */
    public java.util.Map<String, Long> counters() {
        return java.util.Map.of("broker.restarts", (long) restarts(), "broker.loopFailures", (long) loopFailures(),
                "broker.loopRevivals", (long) revivals(), "broker.dupPublishes", dupPublishes(),
                "broker.publicLoginCuts", publicLoginCuts(), "broker.heldBack", heldBack(), "broker.heldForConnack",
                heldForConnack());
    }

    /** The running Moquette, for a test to reach into. */
    Server moquette() {
        return server;
    }

    /** How many PUBLISH packets marked DUP were passed to Moquette as ordinary ones. */
    public long dupPublishes() {
        return guard.dupPublishes.sum();
    }

    /** How often a client was held back (its reading paused) because a Moquette queue was nearly full. */
    public long heldBack() {
        return guard.heldBack.sum();
    }

    /**
     * How often a client's message arrived before Moquette had marked its connection connected and waited for
     * it (Moquette would have refused a SUBSCRIBE there and closed the connection: {@link MoquetteGuard}).
     */
    public long heldForConnack() {
        return guard.heldForConnack.sum();
    }

    /** How many connections of the public login were closed for going over its budget. */
    public long publicLoginCuts() {
        return guard.publicCuts.sum();
    }

    private static MemoryConfig config(String host, int port, boolean anonymous) {
        Properties p = new Properties();
        p.setProperty(IConfig.HOST_PROPERTY_NAME, host);
        p.setProperty(IConfig.PORT_PROPERTY_NAME, Integer.toString(port));
        p.setProperty(IConfig.PERSISTENCE_ENABLED_PROPERTY_NAME, "false");
        p.setProperty(IConfig.ENABLE_TELEMETRY_NAME, "false");
        p.setProperty(IConfig.ALLOW_ANONYMOUS_PROPERTY_NAME, Boolean.toString(anonymous));
        p.setProperty(IConfig.NETTY_MAX_BYTES_PROPERTY_NAME, Integer.toString(MAX_MESSAGE_BYTES));
        p.setProperty(IConfig.WEB_SOCKET_PORT_PROPERTY_NAME, "disabled");
        p.setProperty(IConfig.SESSION_QUEUE_SIZE, Integer.toString(SESSION_QUEUE));
        return new MemoryConfig(p);
    }

    /** The URL MQTT clients use; a wildcard listen address is reached through loopback. */
    public String url() {
        String connect = host.equals("0.0.0.0") || host.equals("::") || host.equals("[::]") ? "127.0.0.1" : host;
        if (connect.contains(":") && !connect.startsWith("[")) {
            connect = "[" + connect + "]";
        }
        return "tcp://" + connect + ":" + port;
    }

    public int port() {
        return port;
    }

    /** Ends the session of the client with this id, if it is connected (a revoked device). */
    public void disconnect(String clientId) {
        if (server.disconnectClient(clientId)) {
            Logger.info("embedded broker: disconnected client {}", clientId);
        }
    }

    /** Stops the broker, waiting at most 3 s: netty's graceful shutdown alone takes about 2 s. */
    @Override
    public void close() {
        close(Duration.ofSeconds(3));
    }

    /**
     * Stops the broker, waiting at most {@code maxWait}. Moquette's stop waits for netty's quiet
     * period (2 s) and cannot be shortened; past the wait, its threads are left to the JVM exit.
     */
    public void close(Duration maxWait) {
        closed = true;
        restarter.shutdownNow();
        stop(server, maxWait);
    }

    private static void stop(Server server, Duration maxWait) {
        ExecutorService stopper = Executors.newSingleThreadExecutor(NamedThreads.daemon("broker-stop"));
        Future<?> stop = stopper.submit(server::stopServer);
        try {
            stop.get(maxWait.toMillis(), TimeUnit.MILLISECONDS);
            Logger.info("embedded MQTT broker stopped");
        } catch (TimeoutException e) {
            Logger.warn("embedded MQTT broker did not stop within {} ms; leaving it to the JVM exit", maxWait.toMillis());
        } catch (ExecutionException e) {
            Logger.warn("embedded MQTT broker failed to stop cleanly: {}", rootMessage(e));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } finally {
            stopper.shutdown();
        }
    }

    /**
     * The fleet's checks, in Moquette's terms (the fleet package implements them; this one does not know it).
     *
     * @param publicClientPrefix the client ids of a login whose password is public ({@code prov-}), held to a
     *                           budget of messages ({@link MoquetteGuard}); null for none
     */
    public record Access(IAuthenticator authenticator, IAuthorizatorPolicy authorizer, String publicClientPrefix) {
    }

    /** Hears of nothing but a session loop's death (the only message type it asks for). */
    private static final class LoopWatch extends AbstractInterceptHandler {
        private final Consumer<Throwable> onError;

        LoopWatch(Consumer<Throwable> onError) {
            this.onError = onError;
        }

        @Override
        public String getID() {
            return "sink-session-loop-watch";
        }

        @Override
        public Class<?>[] getInterceptedMessageTypes() {
            return new Class<?>[] {InterceptExceptionMessage.class};
        }

        @Override
        public void onSessionLoopError(Throwable error) {
            onError.accept(error);
        }
    }

    private static int freePort(String host) {
        try (ServerSocket socket = new ServerSocket()) {
            socket.setReuseAddress(true);
            socket.bind(new InetSocketAddress(InetAddress.getByName(host), 0));
            return socket.getLocalPort();
        } catch (IOException e) {
            throw new UncheckedIOException("no free port on " + host + " (broker.host): " + e.getMessage(), e);
        }
    }

    private static void stopQuietly(Server server) {
        try {
            server.stopServer();
        } catch (RuntimeException e) {
            Logger.debug("cleaning up a broker that did not start: {}", e.getMessage());
        }
    }

    private static String rootMessage(Throwable t) {
        Throwable root = t;
        while (root != null && root.getCause() != null && root.getCause() != root) {
            root = root.getCause();
        }
        return root == null ? "unknown" : root.getClass().getSimpleName() + ": " + root.getMessage();
    }
}
