package app.sevenstamp.autopilot.gateway.check;

import app.sevenstamp.autopilot.gateway.testing.GatewayProps;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import app.sevenstamp.autopilot.gateway.config.FeedbackSettings;
import app.sevenstamp.autopilot.gateway.feedback.Feedback;
import app.sevenstamp.autopilot.gateway.feedback.FakeBoard;
import app.sevenstamp.autopilot.gateway.feedback.GpioCdev;
import app.sevenstamp.autopilot.gateway.feedback.Signal;
import app.sevenstamp.autopilot.gateway.uplink.TestBroker;
import app.sevenstamp.autopilot.protocol.testing.SocatPty;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The whole check on a fake Pi 5 root (device tree, /dev, /sys, /proc/self/mountinfo, os-release) with a
 * real broker, a real pty as the serial scanner and a real outbox folder; only the GPIO ioctls, the clock
 * answer and the opening of Pi4J are stand-ins, as nothing real fits them on this machine.
 */
@Tag("slow")
class BoxCheckTest {
    @TempDir
    Path dir;

    private final Set<Integer> usedLines = new java.util.HashSet<>();
    private final AtomicInteger selfTests = new AtomicInteger();
    private final List<FeedbackSettings> opened = new ArrayList<>();

    private Path root(String osRelease, String mountinfo) throws IOException {
        Path root = dir.resolve("root");
        FakeBoard.pi5(root).pwmChip(0, "platform/axi/1000120000.pcie/1f0009c000.pwm", 4)
                .pwmChip(2, "platform/axi/1000120000.pcie/1f00098000.pwm", 4);
        Files.createDirectories(root.resolve("etc"));
        Files.writeString(root.resolve("etc/os-release"), osRelease);
        Files.createDirectories(root.resolve("proc/self"));
        Files.writeString(root.resolve("proc/self/mountinfo"), mountinfo);
        // cgroup v2 with the memory controller, as after cgroup_enable=memory
        Files.createDirectories(root.resolve("sys/fs/cgroup"));
        Files.writeString(root.resolve("sys/fs/cgroup/cgroup.controllers"), "cpuset cpu io memory pids\n");
        // the SD card: /sys/dev/block/179:2 -> the partition inside its disk, whose device says SD
        Path disk = Files.createDirectories(root.resolve("sys/devices/platform/axi/1000fff000.mmc/mmc_host/mmc0/mmc0:aaaa"));
        Files.writeString(disk.resolve("type"), "SD\n");
        Path block = Files.createDirectories(disk.resolve("block/mmcblk0"));
        Files.createSymbolicLink(block.resolve("device"), disk);
        Path partition = Files.createDirectories(block.resolve("mmcblk0p2"));
        Files.createDirectories(root.resolve("sys/dev/block"));
        Files.createSymbolicLink(root.resolve("sys/dev/block/179:2"), partition);
        return root;
    }

    private static final String BOOKWORM = "PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nVERSION_CODENAME=bookworm\n";

    private BoxCheck.Host host(Path root, ClockCheck.State clock) {
        return new BoxCheck.Host(root, new FakeBoard(root).host(),
                (chip, offset) -> Optional.of(new GpioCdev.LineInfo(offset, "GPIO" + offset,
                        usedLines.contains(offset) ? "gpioset" : "", usedLines.contains(offset), false)),
                () -> clock, ScannerCheck::openForReal, s -> {
                    opened.add(s);
                    return new Feedback() {
                        @Override
                        public void signal(Signal signal, String details) {
                        }

                        @Override
                        public void identify() {
                        }

                        @Override
                        public void stopIdentify() {
                        }

                        @Override
                        public void selfTest() {
                            selfTests.incrementAndGet();
                        }

                        @Override
                        public void close() {
                        }
                    };
                });
    }

    private Path config(String url, String scannerPort, String... extra) throws IOException {
        Path outbox = Files.createDirectories(dir.resolve("outbox"));
        return GatewayProps.minimal().set("device.id", "counter-1", "outbox.dir", outbox.toString(),
                "outbox.maxBytes", "1MB", "outbox.minFreeBytes", "0", "mqtt.url", url, "scanner.type", "serial",
                "scanner.port", scannerPort, "feedback.type", "gpio", "feedback.buzzer", "passive")
                .setLines(extra).write(dir.resolve("gateway.properties"));
    }

    private record Run(int code, List<String> lines) {
        String line(String prefix) {
            return lines.stream().filter(l -> l.startsWith(prefix)).findFirst()
                    .orElseThrow(() -> new AssertionError("no line " + prefix + " in\n" + String.join("\n", lines)));
        }
    }

    private Run run(BoxCheck.Host host, Path config) {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        PrintStream out = new PrintStream(bytes, true, StandardCharsets.UTF_8);
        int code = new BoxCheck(host, out).run(config, "test");
        return new Run(code, bytes.toString(StandardCharsets.UTF_8).lines().toList());
    }

    @Test
    void aWellSetUpPi5IsReadyForTheCounter() throws Exception {
        Path outbox = dir.resolve("outbox");
        Path root = root(BOOKWORM, "29 1 179:2 / " + dir + " rw,noatime shared:1 - ext4 /dev/mmcblk0p2 rw\n"
                + "22 29 0:21 / /proc rw shared:2 - proc proc rw\n");
        try (TestBroker broker = TestBroker.start(); SocatPty scanner = SocatPty.start(dir, "scanner")) {
            Run r = run(host(root, new ClockCheck.State(Optional.of(true), "timedatectl: NTPSynchronized=yes")),
                    config(broker.url(), scanner.devicePath().toString()));
            String all = String.join("\n", r.lines());
            assertEquals(BoxCheck.READY, r.code(), all);
            assertEquals("OK   board: Raspberry Pi 5 Model B Rev 1.0 (Pi 5: gpiochip pinctrl-rp1, PWM 1f00098000.pwm)",
                    r.line("OK   board:"));
            assertEquals("OK   os: Debian GNU/Linux 12 (bookworm), " + System.getProperty("os.arch"), r.line("OK   os:"));
            assertEquals("OK   memory cgroup: memory controller found (cgroup v2, " + root.resolve("sys/fs/cgroup/cgroup.controllers")
                    + " lists memory): the unit's MemoryHigh=160M and MemoryMax=200M are enforced", r.line("OK   memory cgroup:"));
            assertEquals("OK   gpio: gpiochip0 [pinctrl-rp1] at " + root.resolve("dev/gpiochip0").toRealPath()
                    + " (label read by sysfs, the board's)", r.line("OK   gpio:"));
            assertEquals("OK   gpio line 17 (green LED): free (GPIO17), can be claimed", r.line("OK   gpio line 17"));
            assertEquals("OK   gpio line 27 (red LED): free (GPIO27), can be claimed", r.line("OK   gpio line 27"));
            assertEquals("OK   pwm: pwmchip2 (1f00098000.pwm, 4 channels) channel 2 (GPIO 18) for the passive buzzer",
                    r.line("OK   pwm:"));
            assertEquals("OK   scanner: serial scanner " + scanner.devicePath() + " opens at 9600 baud",
                    r.line("OK   scanner:"));
            assertTrue(r.line("OK   outbox disk: " + outbox + ": ").endsWith("(ext4)") || all.contains("outbox disk"), all);
            assertTrue(r.line("OK   outbox fsync: 4 KB written and synced in ").endsWith(" ms in " + outbox), all);
            assertEquals("OK   outbox storage: on /dev/mmcblk0p2 ext4 at " + dir + " (mmcblk0, an SD card): use a card "
                    + "that honours flush, see docs/durability.md", r.line("OK   outbox storage:"));
            assertEquals("OK   clock: synchronised (timedatectl: NTPSynchronized=yes)", r.line("OK   clock:"));
            assertEquals("OK   broker: " + broker.url().substring("tcp://".length()) + " reachable (" + broker.url() + ")",
                    r.line("OK   broker:"));
            assertEquals("OK   broker tls: not used: the broker is on this box (tcp://)", r.line("OK   broker tls:"));
            assertEquals("OK   broker login: accepted anonymously", r.line("OK   broker login:"));
            assertTrue(r.line("OK   self-test: played on green=17 red=27 buzzer=pwm chip 2 channel 2 (passive)")
                    .length() > 0);
            assertEquals("READY: this box can go to the counter", r.lines().get(r.lines().size() - 1));
            assertEquals(1, selfTests.get());
            assertEquals(2, opened.get(0).pwmChip(), "the self-test opens the RP1's PWM0, not the fan's chip 0");
            try (var left = Files.list(outbox)) {
                assertEquals(0, left.count(), "the fsync probe is removed");
            }
        }
    }

    @Test
    void aLineHeldByAnotherProgramAStoppedBrokerAndAnUnsyncedClockAreSaid() throws Exception {
        usedLines.add(27);
        Path root = root("PRETTY_NAME=\"Debian GNU/Linux 11 (bullseye)\"\nVERSION_CODENAME=bullseye\n",
                "29 1 8:2 / / rw - ext4 /dev/sda2 rw\n");
        TestBroker stopped = TestBroker.notStarted();
        try (SocatPty scanner = SocatPty.start(dir, "scanner")) {
            Run r = run(host(root, new ClockCheck.State(Optional.of(false), "timedatectl: NTPSynchronized=no")),
                    config(stopped.url(), scanner.devicePath().toString()));
            String all = String.join("\n", r.lines());
            assertEquals(BoxCheck.NOT_READY, r.code(), all);
            assertEquals("FAIL gpio line 27 (red LED): in use (GPIO27) by 'gpioset': stop what holds it (the gateway "
                    + "service: sudo systemctl stop 7stamp-gateway; a dtoverlay in /boot/firmware/config.txt) or wire "
                    + "the red LED to another pin", r.line("FAIL gpio line 27"));
            assertTrue(r.line("WARN os: Debian GNU/Linux 11 (bullseye)").endsWith("the package is tested on Debian "
                    + "bookworm and trixie (Raspberry Pi OS is built on them)"), all);
            assertTrue(r.line("WARN clock: not synchronised").length() > 0);
            assertTrue(r.line("FAIL broker: cannot reach 127.0.0.1:").contains("Connection refused"), all);
            assertEquals("WARN self-test: not played: GPIO is not usable (the FAIL lines above)", r.line("WARN self-test"));
            assertEquals("OK   outbox storage: on /dev/sda2 ext4 at / (device 8:2, not in /sys/dev/block: not an SD card)",
                    r.line("OK   outbox storage"));
            assertEquals("NOT READY: 2 problems (the FAIL lines above)", r.lines().get(r.lines().size() - 1));
            assertEquals(0, selfTests.get());
        }
    }

    @Test
    void aBoxWithAClaimThatHasNotProvisionedIsToldToStartOnceAndNothingIsSent() throws Exception {
        Path root = root(BOOKWORM, "");
        Path outbox = Files.createDirectories(dir.resolve("outbox"));
        Path config = dir.resolve("claim.properties");
        // the broker port is closed: provisioning would fail loudly if the check tried it
        Files.writeString(config, "provision.claimToken=claim-123\noutbox.dir=" + outbox
                + "\nmqtt.url=" + TestBroker.notStarted().url() + "\n");
        Run r = run(host(root, new ClockCheck.State(Optional.empty(), "no answer")), config);
        assertEquals(BoxCheck.NOT_READY, r.code(), String.join("\n", r.lines()));
        assertEquals("FAIL config: " + config + " has a provision.claimToken and this box has not provisioned yet: "
                + "start the service once (sudo systemctl start 7stamp-gateway), wait for 'provisioned' in its log, "
                + "stop it and check again", r.line("FAIL config"));
        assertEquals("WARN clock: cannot tell whether it is synchronised (no answer)", r.line("WARN clock"));
        assertEquals("NOT READY: 1 problem (the FAIL lines above)", r.lines().get(r.lines().size() - 1));
    }

    @Test
    void aScannerThatIsNotPluggedInFailsItsLineAndTheOtherChecksStillRun() throws Exception {
        Path root = root(BOOKWORM, "");
        try (TestBroker broker = TestBroker.start()) {
            Path missing = dir.resolve("ttyACM9");
            Run r = run(host(root, new ClockCheck.State(Optional.of(true), "flag")), config(broker.url(), missing.toString()));
            assertEquals(BoxCheck.NOT_READY, r.code());
            assertTrue(r.line("FAIL scanner: scanner.port: '" + missing + "' does not exist; ").length() > 0);
            assertTrue(r.line("OK   gpio line 17 (green LED)").length() > 0, "GPIO is still checked");
            assertEquals("OK   broker login: accepted anonymously", r.line("OK   broker login"));
            assertTrue(r.line("OK   config: ").length() > 0);
            assertEquals("NOT READY: 1 problem (the FAIL lines above)", r.lines().get(r.lines().size() - 1));
        }
    }
}
