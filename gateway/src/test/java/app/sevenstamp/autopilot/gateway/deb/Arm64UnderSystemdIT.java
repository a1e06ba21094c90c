package app.sevenstamp.autopilot.gateway.deb;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import app.sevenstamp.autopilot.sink.SinkServer;
import app.sevenstamp.autopilot.sink.testing.FleetSink;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.api.parallel.Execution;
import org.junit.jupiter.api.parallel.ExecutionMode;
import org.junit.jupiter.api.parallel.ResourceLock;
import org.tinylog.Logger;

/**
 * The .deb on an arm64 Debian trixie, what a Raspberry Pi OS of late 2025 is, with systemd as PID 1: the
 * tree ({@link Arm64Trixie}) is booted under systemd-nspawn, every aarch64 program in it (systemd, dpkg,
 * OpenJDK 21) run by qemu-aarch64-static through binfmt_misc. dpkg installs the package there, its unit
 * passes {@code systemd-analyze verify} by the arm64 systemd, starts as shipped (Type=notify: READY=1), and
 * a scan on a pty becomes a stamp at the sink on this machine. UnderSystemdIT does the rest (watchdog,
 * restart, hardening, journal) on amd64; this is the minimal proof that the same package works on the
 * board's architecture, kept short because every instruction is emulated.
 *
 * <p>The differences to the shipped unit are in a drop-in ({@link #EMULATED}): no mount namespace, which
 * qemu-user cannot set up, and 5 minutes for the start instead of 60 s. Needs root.
 */
@Execution(ExecutionMode.CONCURRENT) // mostly waiting on an emulated systemd: runs beside the other ITs (pom.xml, failsafe)
@ResourceLock(SystemdContainer.BOOTS)
class Arm64UnderSystemdIT {
    private static final String UNIT = "7stamp-gateway.service";
    private static final Duration BOOT = Duration.ofMinutes(5);
    private static final Duration WAIT = Duration.ofMinutes(3);
    /**
     * What differs from the shipped unit under emulation. qemu-user cannot do what systemd's mount namespace
     * needs (the unit fails with 226/NAMESPACE, "Failed to set up mount namespacing: Invalid argument"), so
     * the directives that build one are off here; UnderSystemdIT checks them on amd64. And the start gets 5
     * minutes instead of 60 s: the JVM under qemu starts far slower than on a Pi.
     */
    static final String EMULATED = String.join("\n",
            "# Arm64UnderSystemdIT: what qemu-user cannot do (mount namespaces) and its slower JVM start",
            "[Service]",
            "TimeoutStartSec=5min",
            "ProtectSystem=no",
            "ProtectHome=no",
            "PrivateTmp=no",
            "ProtectKernelTunables=no",
            "ProtectKernelModules=no",
            "ProtectKernelLogs=no",
            "ProtectControlGroups=no",
            "ProtectHostname=no",
            "ProtectProc=default",
            "PrivateMounts=no",
            "ReadWritePaths=",
            "");

    @TempDir
    Path dir;

    private FleetSink fleet;

    @Test
    void theDebInstallsOnArm64TrixieAndItsUnitStampsAScanUnderSystemd() throws Exception {
        assertEquals("0", SystemdContainer.run(List.of("id", "-u")).trim(),
                "the arm64 systemd test needs root (binfmt_misc, debootstrap, systemd-nspawn); run scripts/test as root");
        Path deb = DebPackageIT.theDeb();
        Path tree = Arm64Trixie.tree();
        try (SinkServer sink = (fleet = FleetSink.start(dir, WAIT)).server();
             SystemdContainer box = SystemdContainer.boot(dir.resolve("box"), tree, "trixie arm64", BOOT)) {
            try {
                exercise(sink, box, deb);
            } catch (AssertionError | RuntimeException e) {
                throw new AssertionError(e.getMessage() + "\n--- journal of " + UNIT + ":\n"
                        + box.run("journalctl", "--no-pager", "-u", UNIT).output(), e);
            } finally {
                // the emulated systemd ignores nspawn's power-off signal; asked over its own socket it powers off
                // (the target directly: `systemctl poweroff` first asks logind, which does not run here, and
                // waits out two D-Bus timeouts)
                box.run("systemctl", "start", "--no-block", "--job-mode=replace-irreversibly", "poweroff.target");
            }
        }
    }

    private void exercise(SinkServer sink, SystemdContainer box, Path deb) throws Exception {
        // the container's programs are aarch64 ones: its kernel answer is qemu's, its dpkg an arm64 one
        assertEquals("aarch64", box.exec("uname", "-m").trim());
        assertEquals("arm64", box.exec("dpkg", "--print-architecture").trim());
        String systemd = box.exec("sh", "-c", "od -An -tx1 -j18 -N2 /usr/lib/systemd/systemd").trim();
        assertEquals("b7 00", systemd, "PID 1 is an aarch64 ELF (e_machine 183)");

        // before the install, whose postinst starts the unit: see the class comment
        Path dropIn = box.root().resolve("etc/systemd/system/" + UNIT + ".d/emulated.conf");
        Files.createDirectories(dropIn.getParent());
        Files.writeString(dropIn, EMULATED, StandardCharsets.UTF_8);
        Files.copy(deb, box.root().resolve("root/gateway.deb"));
        long t0 = System.nanoTime();
        box.exec("dpkg", "-i", "/root/gateway.deb");
        Logger.info("dpkg -i took {} ms in the arm64 container", (System.nanoTime() - t0) / 1_000_000);
        assertEquals("enabled", box.exec("systemctl", "is-enabled", UNIT).trim());
        // verify exits 0 even for a value it cannot parse; any output is a complaint about the unit (as shipped
        // and with the drop-in, which systemd-analyze reads too)
        String verify = box.exec("systemd-analyze", "verify", "/usr/lib/systemd/system/" + UNIT).trim();
        assertEquals("", verify, "systemd-analyze verify by trixie's arm64 systemd");
        assertTrue(box.exec("systemctl", "cat", UNIT).contains("-jar /usr/share/7stamp-autopilot/autopilot-gateway.jar"), "the shipped unit is the one loaded");
        // the shipped config has no trusted key: postinst's start ended with status 78, not restarted
        await("the start on the shipped config ends with status 78").atMost(WAIT)
                .until(() -> box.property(UNIT, "ExecMainStatus").equals("78"));
        assertEquals("0", box.property(UNIT, "NRestarts"));
        assertTrue(box.exec("journalctl", "--no-pager", "-u", UNIT, "-p", "err", "-o", "cat").contains("cards.trustedKeys: missing"),
                "the configuration error at priority err");

        // the pty that stands in for the scanner (perl-base is in every Debian; as in UnderSystemdIT)
        String pty = String.join("\n",
                "open(my $m, '+<', '/dev/ptmx') or die \"ptmx: $!\";",
                "my $unlock = pack('i', 0); ioctl($m, 0x40045431, $unlock) or die \"TIOCSPTLCK: $!\";",
                "my $n = pack('i', 0); ioctl($m, 0x80045430, $n) or die \"TIOCGPTN: $!\";",
                "$| = 1; print '/dev/pts/' . unpack('i', $n) . \"\\n\";",
                "select((select($m), $| = 1)[0]);",
                "while (my $line = <STDIN>) { chomp $line; print $m $line . \"\\r\"; }");
        Process perl = box.start("perl", "-e", pty);
        try {
            BufferedReader fromPty = new BufferedReader(new InputStreamReader(perl.getInputStream(), StandardCharsets.UTF_8));
            String slave = fromPty.readLine();
            assertTrue(slave != null && slave.startsWith("/dev/pts/"), "the pty helper printed " + slave);
            box.exec("chown", "autopilot:dialout", slave);

            String claim = fleet.api("claims", "create", "--location", "shop-arm64", "--uses", "1", "--expires", "1d").trim();
            Map<String, String> keys = new LinkedHashMap<>();
            keys.put("mqtt.url", sink.brokerUrl());
            keys.put("provision.claimToken", claim);
            keys.put("provision.hardwareId", "hw-arm64-1");
            keys.put("scanner.type", "serial");
            keys.put("scanner.port", slave);
            UnderSystemdIT.setKeys(box.root().resolve("etc/7stamp-autopilot/gateway.properties"), keys);
            box.exec("systemctl", "reset-failed", UNIT);
            t0 = System.nanoTime();
            box.exec("systemctl", "start", UNIT); // Type=notify: returns once READY=1 arrived
            Logger.info("systemctl start on arm64 under qemu (JVM start, provisioning, READY=1) took {} ms",
                    (System.nanoTime() - t0) / 1_000_000);
            assertEquals("active", box.property(UNIT, "ActiveState"));
            assertTrue(box.property(UNIT, "StatusText").startsWith("stamping: device=shop-arm64-"), box.property(UNIT, "StatusText"));
            String pid = box.property(UNIT, "MainPID");
            // trixie's OpenJDK 21 runs it (the ready line names the Java; /proc/PID/exe would be qemu)
            String ready = box.exec("journalctl", "--no-pager", "-u", UNIT, "-o", "cat", "--grep", "gateway ready");
            assertTrue(ready.contains(" on Java 21."), "Java 21 in the ready line: " + ready);
            UnderSystemdIT.assertSharesClasses(box, pid);
            await("the gateway opened the pty as its scanner").atMost(WAIT).until(() -> box.exec("journalctl", "--no-pager",
                    "-u", UNIT, "-o", "cat").contains("scanner " + slave + " open at 9600 baud"));

            String card = app.sevenstamp.autopilot.sink.cards.SigningKey.loadOrCreate(dir.resolve("sink").resolve("signing.key"), "k1")
                    .signer().sign("coffee", "ABCDEFGHJKMNPQRS");
            perl.getOutputStream().write((card + "\n").getBytes(StandardCharsets.UTF_8));
            perl.getOutputStream().flush();
            await("the serial scan stamped at the sink").atMost(WAIT).until(() -> sink.metrics().accepted() == 1);
            String rss = box.exec("sh", "-c", "grep -E '^Vm(RSS|HWM)' /proc/" + pid + "/status | tr -s ' \\t' ' ' | paste -sd' '");
            Logger.info("the arm64 gateway after one stamp (qemu's process: the emulated JVM and qemu's own memory): {}", rss.trim());

            t0 = System.nanoTime();
            box.exec("systemctl", "stop", UNIT);
            Logger.info("systemctl stop took {} ms", (System.nanoTime() - t0) / 1_000_000);
            assertEquals("success", box.property(UNIT, "Result"));
            assertEquals("143", box.property(UNIT, "ExecMainStatus"));
        } finally {
            perl.destroy();
        }
    }


}
