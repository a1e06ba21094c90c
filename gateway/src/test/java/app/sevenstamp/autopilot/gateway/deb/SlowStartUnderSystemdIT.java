package app.sevenstamp.autopilot.gateway.deb;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import app.sevenstamp.autopilot.gateway.testing.Backlog;
import app.sevenstamp.autopilot.protocol.card.CardSigner;
import app.sevenstamp.autopilot.sink.cards.SigningKey;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
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
 * A box back from a long outage opens its outbox with every stamp it kept, and that start can take longer than
 * the unit's TimeoutStartSec= (60 s): 3.6 s for 100,000 stamps on this machine's core, several times that on a
 * Pi's core and SD card. Were systemd to kill such a start, the next one would read the same backlog again and
 * be killed again: the box would never come back. The installed .deb under real systemd (bookworm in
 * systemd-nspawn, as {@link UnderSystemdIT}): a backlog of {@link #BACKLOG} stamps put into its outbox, the
 * start's timeout cut to {@link #TIMEOUT_SECONDS} s by a drop-in so that this machine's start outlasts it as a
 * Pi's would outlast 60 s, and the start must end in READY=1, not in a kill. No broker: the box starts offline,
 * its stamps waiting.
 */
@Execution(ExecutionMode.CONCURRENT) // mostly waiting on systemd: runs beside the other ITs (pom.xml, failsafe)
@ResourceLock(SystemdContainer.BOOTS)
class SlowStartUnderSystemdIT {
    private static final String UNIT = "7stamp-gateway.service";
    /** 4.7 s of start here with 200,000 (a CI run's machine); 300,000 keeps it twice the timeout. */
    private static final int BACKLOG = 300_000;
    private static final int TIMEOUT_SECONDS = 3;

    @TempDir
    Path dir;

    @Test
    void aStartSlowedByABacklogIsNotKilledAtTheStartTimeout() throws Exception {
        assertEquals("0", SystemdContainer.run(List.of("id", "-u")).trim(),
                "the systemd test needs root (systemd-nspawn, cgroups); run scripts/test as root");
        Path deb = DebPackageIT.theDeb();
        try (SystemdContainer box = SystemdContainer.boot(dir.resolve("box"), DebianRelease.BOOKWORM)) {
            try {
                exercise(box, deb);
            } catch (AssertionError | RuntimeException e) {
                throw new AssertionError(e.getMessage() + "\n--- journal of " + UNIT + ":\n"
                        + box.run("journalctl", "--no-pager", "-u", UNIT).output(), e);
            }
        }
    }

    private void exercise(SystemdContainer box, Path deb) throws Exception {
        Files.copy(deb, box.root().resolve("root/gateway.deb"));
        box.exec("dpkg", "-i", "/root/gateway.deb"); // starts and fails on the shipped config (78): no key yet

        SigningKey key = SigningKey.loadOrCreate(dir.resolve("signing.key"), "k1");
        CardSigner signer = key.signer();
        List<String> cards = new ArrayList<>();
        for (int i = 0; i < 20; i++) {
            cards.add(signer.sign("coffee", "SLOWSTARTCARD" + (char) ('A' + i)));
        }
        Map<String, String> keys = new LinkedHashMap<>();
        keys.put("device.id", "slow-start-1");
        keys.put("device.location", "back-from-an-outage");
        keys.put("cards.trustedKeys", key.trustedKeyLine());
        keys.put("cards.programs", "coffee");
        keys.put("mqtt.url", "tcp://127.0.0.1:9"); // nothing listens: the box starts offline and keeps its backlog
        UnderSystemdIT.setKeys(box.root().resolve("etc/7stamp-autopilot/gateway.properties"), keys);

        long t0 = System.nanoTime();
        Backlog.fill(box.root().resolve("var/lib/7stamp-autopilot/outbox"), BACKLOG, cards, "slow-start-1", "back-from-an-outage");
        Logger.info("{} stamps put into the box's outbox in {} ms", BACKLOG, (System.nanoTime() - t0) / 1_000_000);
        box.exec("chown", "-R", "autopilot:autopilot", "/var/lib/7stamp-autopilot");

        Path dropIn = box.root().resolve("etc/systemd/system/" + UNIT + ".d/slow-start.conf");
        Files.createDirectories(dropIn.getParent());
        Files.writeString(dropIn, "# SlowStartUnderSystemdIT: this machine's start with the backlog outlasts this, as a Pi's "
                + "would outlast the unit's 60 s\n[Service]\nTimeoutStartSec=" + TIMEOUT_SECONDS + "s\n");
        box.exec("systemctl", "daemon-reload");
        box.exec("systemctl", "reset-failed", UNIT);
        assertEquals(TIMEOUT_SECONDS + "s", box.property(UNIT, "TimeoutStartUSec"), "the drop-in's timeout is the unit's");

        SystemdContainer.Result start = box.run("systemctl", "start", UNIT); // Type=notify: returns at READY=1, or fails
        long exec = Long.parseLong(box.property(UNIT, "ExecMainStartTimestampMonotonic"));
        long active = Long.parseLong(box.property(UNIT, "ActiveEnterTimestampMonotonic"));
        String systemdLines = box.exec("journalctl", "--no-pager", "-u", UNIT, "_PID=1", "-o", "cat");
        assertEquals(0, start.status(), "systemctl start: " + start.output() + "\n" + systemdLines);
        assertFalse(systemdLines.contains("timed out"), systemdLines);
        assertEquals("active", box.property(UNIT, "ActiveState"));
        assertEquals("running", box.property(UNIT, "SubState"));
        assertEquals("0", box.property(UNIT, "NRestarts"));
        long tookMillis = (active - exec) / 1000;
        Logger.info("the start with {} stamps waiting took {} ms under systemd, against TimeoutStartSec={}s", BACKLOG,
                tookMillis, TIMEOUT_SECONDS);
        // otherwise this machine opened the backlog within the timeout, and the test showed nothing
        assertTrue(tookMillis > TIMEOUT_SECONDS * 1000L, "the start took " + tookMillis + " ms, within TimeoutStartSec="
                + TIMEOUT_SECONDS + "s: a larger BACKLOG is needed for this test to mean anything");
        String log = box.exec("journalctl", "--no-pager", "-u", UNIT, "-o", "cat");
        assertTrue(log.contains("Gateway: outbox opened with " + BACKLOG + " stamps waiting"), "the backlog was opened:\n" + log);

        box.exec("systemctl", "stop", UNIT);
        assertEquals("success", box.property(UNIT, "Result"));
    }
}
