package app.sevenstamp.autopilot.gateway.check;

import app.sevenstamp.autopilot.gateway.support.HostFacts;
import app.sevenstamp.autopilot.gateway.support.Ticker;
import app.sevenstamp.autopilot.gateway.config.GatewayConfig;
import app.sevenstamp.autopilot.gateway.config.FeedbackSettings;
import app.sevenstamp.autopilot.gateway.feedback.ConsoleFeedback;
import app.sevenstamp.autopilot.gateway.feedback.Feedback;
import app.sevenstamp.autopilot.gateway.feedback.GpioCdev;
import app.sevenstamp.autopilot.gateway.feedback.GpioFeedback;
import app.sevenstamp.autopilot.gateway.feedback.GpioHost;
import app.sevenstamp.autopilot.gateway.fleet.FleetBoot;
import app.sevenstamp.autopilot.gateway.fleet.HardwareId;
import app.sevenstamp.autopilot.gateway.fleet.Provisioner;
import app.sevenstamp.autopilot.protocol.support.ConfigException;
import java.io.PrintStream;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.Properties;
import java.util.function.BiFunction;
import java.util.function.Function;
import java.util.function.Supplier;

/**
 * {@code autopilot-gateway check --config FILE}: what an installer runs on the box before it goes to the
 * counter. It prints one plain line per finding (board, OS, Java, memory cgroup, configuration, GPIO chip
 * and lines, PWM, scanner, outbox disk, clock, broker, self-test) as it goes, then a verdict, and exits 0 only when no line
 * is FAIL. Off a Pi it runs too and says what is missing. It changes nothing: it does not provision, it
 * writes only a temporary file in the outbox folder, and it logs in to the broker under its own client id.
 *
 * <p>Run it with the service stopped and as the service user (scripts/pi-check does both): a running
 * gateway holds the GPIO lines and the scanner, and group memberships are the service user's.
 */
public final class BoxCheck {
    public static final int READY = 0;
    public static final int NOT_READY = 1;
    static final Duration BROKER_TIMEOUT = Duration.ofSeconds(5);

    /**
     * The machine as the checks see it; everything the tests replace.
     *
     * @param root      where proc, sys, dev, etc and run are
     * @param lineInfo  a GPIO line's state ({@link GpioCdev#lineInfo})
     * @param clock     whether the clock is synchronised
     * @param opener    opens a scanner device as the gateway would
     * @param gpio      opens GPIO feedback for the self-test
     */
    public record Host(Path root, GpioHost gpioHost, BiFunction<Path, Integer, Optional<GpioCdev.LineInfo>> lineInfo,
            Supplier<ClockCheck.State> clock, ScannerCheck.Opener opener, Function<FeedbackSettings, Feedback> gpio) {

        public static Host system() {
            Path root = Path.of("/");
            return new Host(root, GpioHost.system(), GpioCdev::lineInfo, () -> ClockCheck.system(root),
                    ScannerCheck::openForReal, s -> GpioFeedback.openGpiod(s,
                            s.pwmChip() == FeedbackSettings.AUTO ? 0 : s.pwmChip(), Ticker.SYSTEM));
        }
    }

    private final Host host;
    private final PrintStream out;
    private int failures;
    private String scannerProblem;

    public BoxCheck(Host host, PrintStream out) {
        this.host = host;
        this.out = out;
    }

    /** Runs every check against the configuration file; returns the exit code. */
    public int run(Path configFile, String version) {
        failures = 0;
        scannerProblem = null;
        out.println("7stamp gateway " + version + ": checking this box with " + configFile);
        print(new SystemCheck(host.gpioHost(), host.root().resolve("etc/os-release"), Runtime.version()).run());
        print(new MemoryCgroupCheck(host.root()).run());
        Optional<GatewayConfig> config = config(configFile, version);
        if (config.isPresent()) {
            GatewayConfig c = config.get();
            GpioCheck gpio = new GpioCheck(c.feedback(), host.gpioHost(), host.lineInfo());
            print(gpio.run());
            print(scannerProblem != null ? List.of(CheckLine.fail("scanner", scannerProblem))
                    : new ScannerCheck(c.scanner(), host.opener()).run());
            print(new DiskCheck(c.outboxDir(), c.outboxLimits(), host.root()).run());
            print(new ClockCheck(host.clock()).run());
            print(new BrokerCheck(c.mqtt(), BROKER_TIMEOUT).run());
            print(new SelfTestCheck(c.feedback(), gpio::usable, host.gpio(), new ConsoleFeedback(out, false)).run());
        } else {
            print(new ClockCheck(host.clock()).run());
        }
        if (failures == 0) {
            out.println("READY: this box can go to the counter");
            return READY;
        }
        out.println("NOT READY: " + failures + (failures == 1 ? " problem" : " problems") + " (the FAIL lines above)");
        return NOT_READY;
    }

    private Optional<GatewayConfig> config(Path file, String version) {
        try {
            FleetBoot.Phase1 phase1 = FleetBoot.read(file);
            quietLogs();
            if (phase1.needsProvisioning()) {
                print(List.of(CheckLine.fail("config", file + " has a provision.claimToken and this box has not "
                        + "provisioned yet: start the service once (sudo systemctl start 7stamp-gateway), wait for "
                        + "'provisioned' in its log, stop it and check again")));
                return Optional.empty();
            }
            // with nothing to provision, complete() only reads the stored identity and checks the whole file
            GatewayConfig c;
            try {
                c = phase1.complete(HostFacts.hostName(), HardwareId::read, version).config();
            } catch (ConfigException e) {
                if (!e.getMessage().startsWith("scanner.")) {
                    throw e;
                }
                // a scanner not plugged in is the scanner's line, not a reason to skip GPIO, disk and broker
                scannerProblem = e.getMessage();
                Properties withoutScanner = new Properties();
                withoutScanner.putAll(phase1.properties());
                withoutScanner.setProperty("scanner.type", "stdin");
                c = new FleetBoot.Phase1(phase1.file(), withoutScanner, phase1.fleet(), phase1.stateDir(), phase1.updates())
                        .complete(HostFacts.hostName(), HardwareId::read, version).config();
            }
            print(List.of(CheckLine.ok("config", file + ": device " + c.deviceId() + " at location " + c.location()
                    + ", feedback " + c.feedback().describe())));
            return Optional.of(c);
        } catch (ConfigException | IllegalStateException | Provisioner.RefusedException e) {
            quietLogs();
            print(List.of(CheckLine.fail("config", e.getMessage())));
            return Optional.empty();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            print(List.of(CheckLine.fail("config", "interrupted")));
            return Optional.empty();
        }
    }

    /** The lines are the report; log lines would only repeat them on stderr. */
    private static void quietLogs() {
        System.setProperty("tinylog.writer.level", "warn");
    }

    private void print(List<CheckLine> lines) {
        for (CheckLine line : lines) {
            if (line.status() == CheckLine.Status.FAIL) {
                failures++;
            }
            out.println(line);
        }
        out.flush();
    }
}
