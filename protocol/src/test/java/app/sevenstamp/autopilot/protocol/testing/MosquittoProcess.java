package app.sevenstamp.autopilot.protocol.testing;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.TimeUnit;

/**
 * A real Mosquitto broker as a subprocess on a free loopback port, with a config generated per test.
 * Stop and start again keep the port, so clients can reconnect to the same URL.
 */
public final class MosquittoProcess implements AutoCloseable {
    /**
     * The settings docs/operations.md gives a fleet's broker ({@code FleetTuningDocsTest} keeps them alike): a sink's
     * window and queue large enough for a thousand boxes' drains (docs/performance.md, "What bounds a batch"), and
     * Nagle's algorithm off on the broker's side. With
     * it on, Mosquitto's default, a small packet can wait for the peer's delayed ACK of the one before (about 40 ms on
     * Linux): scripts/fleet-sim's steady publish to ack p50 was 43 ms, 3.6 ms with it off.
     */
    public static final String FLEET_TUNING = "max_inflight_messages 1000\nmax_queued_messages 100000\nset_tcp_nodelay true\n";

    private final Path dir;
    private final int port;
    private final String extraConfig;
    private Process process;

    private MosquittoProcess(Path dir, int port, String extraConfig) {
        this.dir = dir;
        this.port = port;
        this.extraConfig = extraConfig;
    }

    /** Anonymous plain-TCP broker without persistence. */
    public static MosquittoProcess start(Path dir) {
        return start(dir, "allow_anonymous true\n");
    }

    /** A broker with extra configuration lines (TLS listener, plugins...) after the listener line. */
    public static MosquittoProcess start(Path dir, String extraConfig) {
        MosquittoProcess broker = new MosquittoProcess(dir, FreePorts.pick(), extraConfig);
        broker.start();
        return broker;
    }

    /** The dynamic-security plugin of the mosquitto package, as Debian installs it. */
    public static final Path DYNSEC_PLUGIN = Path.of("/usr/lib/x86_64-linux-gnu/mosquitto_dynamic_security.so");

    /**
     * A broker with the dynamic-security plugin and no anonymous access; its JSON is initialised by
     * {@code mosquitto_ctrl dynsec init} with an admin client {@code admin} (which may only read, and
     * drive the plugin through {@code $CONTROL/dynamic-security/v1}).
     */
    public static MosquittoProcess startWithDynamicSecurity(Path dir, String admin, String adminPassword) {
        return startWithDynamicSecurity(dir, admin, adminPassword, "");
    }

    /** As {@link #startWithDynamicSecurity(Path, String, String)}, plus listener lines such as {@link #tlsListener}. */
    public static MosquittoProcess startWithDynamicSecurity(Path dir, String admin, String adminPassword,
            String listenerConfig) {
        Path ctrl = Tools.require("mosquitto_ctrl", "mosquitto");
        if (!Files.isRegularFile(DYNSEC_PLUGIN)) {
            throw new AssertionError(DYNSEC_PLUGIN + " is missing: install the Debian package 'mosquitto'");
        }
        Path json = dir.resolve("dynamic-security.json");
        try {
            Files.createDirectories(dir);
            Process init = new ProcessBuilder(ctrl.toString(), "dynsec", "init", json.toString(), admin, adminPassword)
                    .redirectErrorStream(true).redirectOutput(dir.resolve("dynsec-init.log").toFile()).start();
            if (!init.waitFor(20, TimeUnit.SECONDS) || init.exitValue() != 0) {
                throw new IllegalStateException("mosquitto_ctrl dynsec init failed: " + Files.readString(dir.resolve("dynsec-init.log")));
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted", e);
        }
        // started as root, mosquitto would drop to the 'mosquitto' user, which cannot read a test's temp dir
        return start(dir, "user " + System.getProperty("user.name") + "\nallow_anonymous false\nplugin " + DYNSEC_PLUGIN
                + "\nplugin_opt_config_file " + json + "\n" + listenerConfig);
    }

    public int port() {
        return port;
    }

    public String url() {
        return "tcp://127.0.0.1:" + port;
    }

    /** The URL for a broker started with TLS lines ({@link #tlsConfig}); {@code localhost} as in the test certificates. */
    public String sslUrl() {
        return "ssl://localhost:" + port;
    }

    /**
     * The extra lines that turn the listener into a TLS listener with this CA and broker certificate;
     * {@code requireClientCertificate} makes Mosquitto refuse clients without a certificate of that CA.
     */
    public static String tlsConfig(Path ca, Path cert, Path key, boolean requireClientCertificate) {
        // run as root (CI), Mosquitto drops to user 'mosquitto', which cannot read the test's 0700 temp folder
        return "user " + System.getProperty("user.name") + "\nallow_anonymous true\n"
                + tlsListener(ca, cert, key, requireClientCertificate);
    }

    /** Only the TLS lines of {@link #tlsConfig}, for a broker whose access is set otherwise (dynamic security). */
    public static String tlsListener(Path ca, Path cert, Path key, boolean requireClientCertificate) {
        return "cafile " + ca + "\ncertfile " + cert + "\nkeyfile " + key + "\nrequire_certificate "
                + requireClientCertificate + "\n";
    }

    /** The running broker's process id (for benches that read its CPU time). */
    public synchronized long pid() {
        if (process == null) {
            throw new IllegalStateException("mosquitto is not running");
        }
        return process.pid();
    }

    public synchronized void start() {
        if (process != null && process.isAlive()) {
            return;
        }
        Path binary = Tools.require("mosquitto", "mosquitto");
        try {
            Files.createDirectories(dir);
            Path conf = dir.resolve("mosquitto.conf");
            Files.writeString(conf, "listener " + port + " 127.0.0.1\n" + extraConfig
                    + "persistence false\nlog_dest stderr\nlog_type error\nlog_type warning\n", StandardCharsets.UTF_8);
            process = new ProcessBuilder(binary.toString(), "-c", conf.toString())
                    .redirectErrorStream(true)
                    .redirectOutput(dir.resolve("mosquitto.log").toFile())
                    .start();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot start mosquitto", e);
        }
        awaitListening(Duration.ofSeconds(10));
    }

    /** Stops the broker like a crash would (SIGKILL) or like an operator would (SIGTERM). */
    public synchronized void stop(boolean kill) {
        if (process == null) {
            return;
        }
        if (kill) {
            process.destroyForcibly();
        } else {
            process.destroy();
        }
        try {
            if (!process.waitFor(10, TimeUnit.SECONDS)) {
                process.destroyForcibly().waitFor(5, TimeUnit.SECONDS);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        process = null;
    }

    @Override
    public void close() {
        stop(false);
    }

    private void awaitListening(Duration timeout) {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (System.nanoTime() < deadline) {
            if (!process.isAlive()) {
                throw new IllegalStateException("mosquitto exited with " + process.exitValue() + ": " + log());
            }
            try (Socket socket = new Socket()) {
                socket.connect(new InetSocketAddress("127.0.0.1", port), 200);
                return;
            } catch (IOException e) {
                try {
                    Thread.sleep(20); // polling a port we do not own: there is no event to wait on
                } catch (InterruptedException ie) {
                    Thread.currentThread().interrupt();
                    throw new IllegalStateException("interrupted", ie);
                }
            }
        }
        throw new IllegalStateException("mosquitto did not listen on " + port + " within " + timeout + ": " + log());
    }

    private String log() {
        try {
            return Files.readString(dir.resolve("mosquitto.log"));
        } catch (IOException e) {
            return "(no log)";
        }
    }
}
