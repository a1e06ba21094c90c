package app.sevenstamp.autopilot.sink;

import app.sevenstamp.autopilot.protocol.support.NamedThreads;
import app.sevenstamp.autopilot.protocol.support.SystemdNotifier;
import app.sevenstamp.autopilot.protocol.support.Watchdog;
import app.sevenstamp.autopilot.sink.cli.SinkCli;
import app.sevenstamp.autopilot.sink.config.SinkConfig;
import java.io.PrintStream;
import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.CountDownLatch;
import org.tinylog.Logger;

/**
 * {@code java -jar autopilot-sink.jar <command> --config FILE}; see {@link SinkCli} for the
 * commands and exit statuses. {@code serve} is here, where the sink is wired, so that the CLI's package
 * does not depend on this one.
 */
public final class SinkMain {
    private SinkMain() {
    }

    public static void main(String[] args) {
        int status = new SinkCli(System.out, System.err, System.in, SinkMain::serve).run(args);
        boolean served = args.length > 0 && args[0].equals("serve") && status == SinkCli.OK;
        // After serve the JVM is already shutting down (System.exit would block in a shutdown);
        // every other command exits with its status.
        if (!served) {
            System.exit(status);
        }
    }

    /** {@code serve}: the sink until SIGTERM or SIGINT, fed to systemd's watchdog, ready once the broker is. */
    static int serve(SinkConfig config, PrintStream out) throws InterruptedException {
        SinkServer server = SinkServer.start(config);
        SystemdNotifier systemd = SystemdNotifier.fromEnvironment(); // no-op outside systemd
        // fed from now on, also while waiting for the broker: the broker probe allows for reconnecting
        Optional<Watchdog> watchdog = Watchdog.start(systemd, server.healthCheck());
        CountDownLatch stopped = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(NamedThreads.of("sink-shutdown").newThread(() -> {
            Logger.info("stopping (signal)");
            systemd.stopping();
            watchdog.ifPresent(Watchdog::close);
            server.close();
            stopped.countDown();
        }));
        while (!server.awaitIngestReady(Duration.ofSeconds(30))) {
            Logger.info("still waiting for the MQTT broker at {}", server.brokerUrl());
            systemd.status("waiting for the MQTT broker at " + server.brokerUrl());
        }
        out.println("sink ready broker=" + server.brokerUrl() + " http=http://" + config.httpHost() + ":" + server.httpPort());
        out.flush();
        systemd.ready("serving: broker=" + server.brokerUrl() + " http port " + server.httpPort());
        stopped.await();
        return SinkCli.OK;
    }
}
