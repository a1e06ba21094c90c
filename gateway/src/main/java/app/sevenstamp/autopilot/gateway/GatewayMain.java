package app.sevenstamp.autopilot.gateway;

import app.sevenstamp.autopilot.gateway.check.BoxCheck;
import app.sevenstamp.autopilot.gateway.config.GatewayConfig;
import app.sevenstamp.autopilot.gateway.fleet.FleetAgent;
import app.sevenstamp.autopilot.gateway.fleet.FleetBoot;
import app.sevenstamp.autopilot.gateway.fleet.HardwareId;
import app.sevenstamp.autopilot.gateway.fleet.Provisioner;
import app.sevenstamp.autopilot.gateway.outbox.OutboxException;
import app.sevenstamp.autopilot.gateway.support.HostFacts;
import app.sevenstamp.autopilot.protocol.support.Watchdog;
import app.sevenstamp.autopilot.protocol.support.ConfigException;
import app.sevenstamp.autopilot.protocol.support.JournalConsoleWriter;
import app.sevenstamp.autopilot.protocol.support.StartExtension;
import app.sevenstamp.autopilot.protocol.support.SystemdNotifier;
import java.lang.management.ManagementFactory;
import java.nio.file.Path;
import java.util.Optional;
import org.tinylog.Logger;
import org.tinylog.provider.ProviderRegistry;

/**
 * {@code java -jar autopilot-gateway.jar --config FILE}, or {@code ... check --config FILE} for the installer's
 * check of the box ({@link BoxCheck}: exit 0 when ready for a counter, 1 when not). Exit codes follow sysexits: 64 bad usage,
 * 78 bad configuration (only the message is printed, for the operator), 74 outbox unusable, 70 any
 * other failure to start. Once started the daemon runs until SIGTERM or SIGINT, then stops within
 * five seconds.
 */
public final class GatewayMain {
    static final int EX_USAGE = 64;
    static final int EX_SOFTWARE = 70;
    static final int EX_IOERR = 74;
    static final int EX_CONFIG = 78;

    private static final String USAGE = "usage: java -jar autopilot-gateway.jar [check] --config FILE";

    private GatewayMain() {
    }

    public static void main(String[] args) {
        if (args.length > 0 && args[0].equals("check")) {
            Path configFile = parse(java.util.Arrays.copyOfRange(args, 1, args.length));
            int code;
            if (configFile == null) {
                System.err.println(JournalConsoleWriter.errorLine(USAGE));
                code = EX_USAGE;
            } else {
                code = new BoxCheck(BoxCheck.Host.system(), System.out).run(configFile, version());
            }
            shutdownLogging();
            System.exit(code);
        }
        int code = start(args);
        if (code != 0) {
            shutdownLogging();
            System.exit(code);
        }
        // running: the pipeline, uplink and outbox threads keep the JVM alive until the shutdown hook
    }

    private static int start(String[] args) {
        // under systemd (Type=notify): more time while a slow start works (a backlog), READY=1 once it is done,
        // WATCHDOG=1 while healthy, STOPPING=1 in the hook
        SystemdNotifier systemd = SystemdNotifier.fromEnvironment();
        try (StartExtension slowStart = StartExtension.start(systemd)) {
            return start(args, systemd, slowStart);
        }
    }

    private static int start(String[] args, SystemdNotifier systemd, StartExtension slowStart) {
        Path configFile = parse(args);
        if (configFile == null) {
            System.err.println(JournalConsoleWriter.errorLine(USAGE));
            return EX_USAGE;
        }
        GatewayConfig config;
        FleetBoot.Boot boot;
        try {
            slowStart.phase("reading " + configFile + " (and provisioning, on a first start)");
            // fleet keys, the stored identity and the sink's desired config come first (see FleetBoot)
            boot = FleetBoot.read(configFile).complete(HostFacts.hostName(), HardwareId::read, version());
            config = boot.config();
        } catch (ConfigException e) {
            System.err.println(JournalConsoleWriter.errorLine(e.getMessage()));
            return EX_CONFIG;
        } catch (Provisioner.RefusedException e) {
            // a box refused for want of its key needs an approval (the reason says so), not a new claim
            String advice = e.getMessage().contains("devices approve") ? ""
                    : "; ask for a new claim (autopilot-sink claims create) and put it into provision.claimToken";
            System.err.println(JournalConsoleWriter.errorLine("provisioning refused by the sink: " + e.getMessage() + advice));
            return EX_CONFIG;
        } catch (IllegalStateException e) {
            System.err.println(JournalConsoleWriter.errorLine(e.getMessage())); // no hardware identity for provisioning
            return EX_CONFIG;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return EX_SOFTWARE;
        }
        long started = System.nanoTime();
        Gateway gateway;
        try {
            slowStart.phase("opening the outbox in " + config.outboxDir() + " and the scanner");
            gateway = Gateway.start(config, Gateway.Environment.system(), boot.fleet().heartbeat(), version(),
                    () -> System.exit(FleetAgent.RESTART_EXIT), boot.updates());
        } catch (OutboxException e) {
            Logger.error("cannot start: {}", e.getMessage());
            return EX_IOERR;
        } catch (RuntimeException | LinkageError e) {
            Logger.error(e, "cannot start");
            return EX_SOFTWARE;
        }
        slowStart.close(); // READY=1 below ends the start; nothing may extend the running service's timeouts
        Optional<Watchdog> watchdog = Watchdog.start(systemd, gateway.healthCheck());
        Runtime.getRuntime().addShutdownHook(new Thread(() -> stop(gateway, systemd, watchdog), "shutdown"));
        Logger.info("gateway ready: device={} location={} scanner={} broker={} topics={}/gw/{}/... outbox={} "
                        + "feedback={} programs={} version={} on Java {} (started in {} ms, JVM up {} ms)",
                config.deviceId(), config.location(), gateway.describeScanner(), config.mqtt().url(),
                config.mqtt().topicPrefix(), config.deviceId(), config.outboxDir(),
                config.feedback().type().name().toLowerCase(java.util.Locale.ROOT), config.describePrograms(),
                version(), Runtime.version(), (System.nanoTime() - started) / 1_000_000,
                ManagementFactory.getRuntimeMXBean().getUptime());
        systemd.ready("stamping: device=" + config.deviceId() + " broker=" + config.mqtt().url());
        return 0;
    }

    private static void stop(Gateway gateway, SystemdNotifier systemd, Optional<Watchdog> watchdog) {
        long start = System.nanoTime();
        Logger.info("stopping");
        systemd.stopping();
        watchdog.ifPresent(Watchdog::close);
        gateway.close();
        Logger.info("gateway stopped in {} ms", (System.nanoTime() - start) / 1_000_000);
        shutdownLogging();
    }

    /** {@code --config FILE} or {@code --config=FILE}, nothing else; null otherwise. */
    static Path parse(String[] args) {
        if (args.length == 2 && "--config".equals(args[0]) && !args[1].isBlank()) {
            return Path.of(args[1]);
        }
        if (args.length == 1 && args[0].startsWith("--config=") && args[0].length() > "--config=".length()) {
            return Path.of(args[0].substring("--config=".length()));
        }
        return null;
    }

    private static String version() {
        String v = GatewayMain.class.getPackage().getImplementationVersion();
        return v == null ? "dev" : v;
    }

    /** tinylog's own shutdown hook is off (tinylog.properties) so that the last lines of our hook are written. */
    private static void shutdownLogging() {
        try {
            ProviderRegistry.getLoggingProvider().shutdown();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
