package app.sevenstamp.autopilot.gateway.uplink;

import app.sevenstamp.autopilot.protocol.testing.FreePorts;
import io.moquette.broker.Server;
import io.moquette.broker.config.IConfig;
import io.moquette.broker.config.MemoryConfig;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.Properties;

/** Moquette in-process on a free port ({@link FreePorts}, kept across restarts), without persistence or telemetry. */
public final class TestBroker implements AutoCloseable {
    private final int port;
    private Server server;

    private TestBroker(int port) {
        this.port = port;
    }

    public static TestBroker start() {
        TestBroker broker = new TestBroker(FreePorts.pick());
        broker.startAgain();
        return broker;
    }

    /** A broker that is not running yet, on a port nobody listens on. */
    public static TestBroker notStarted() {
        return new TestBroker(FreePorts.pick());
    }

    /** Starts on the same port as before, as a restarted broker would (its memory is empty). */
    public void startAgain() {
        Properties p = new Properties();
        p.setProperty(IConfig.HOST_PROPERTY_NAME, "127.0.0.1");
        p.setProperty(IConfig.PORT_PROPERTY_NAME, String.valueOf(port));
        p.setProperty(IConfig.PERSISTENCE_ENABLED_PROPERTY_NAME, "false");
        p.setProperty(IConfig.ENABLE_TELEMETRY_NAME, "false");
        p.setProperty(IConfig.ALLOW_ANONYMOUS_PROPERTY_NAME, "true");
        server = new Server();
        try {
            server.startServer(new MemoryConfig(p));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    public void stop() {
        if (server != null) {
            server.stopServer();
            server = null;
        }
    }

    public String url() {
        return "tcp://127.0.0.1:" + port;
    }


    @Override
    public void close() {
        stop();
    }
}
