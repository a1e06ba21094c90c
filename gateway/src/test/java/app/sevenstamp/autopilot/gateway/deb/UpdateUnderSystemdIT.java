package app.sevenstamp.autopilot.gateway.deb;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import app.sevenstamp.autopilot.gateway.update.ManifestCheck;
import app.sevenstamp.autopilot.sink.SinkServer;
import app.sevenstamp.autopilot.sink.fleet.FleetRegistry;
import app.sevenstamp.autopilot.sink.testing.FleetSink;
import app.sevenstamp.autopilot.sink.update.UpdateBook;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.tinylog.Logger;
import org.junit.jupiter.api.parallel.Execution;
import org.junit.jupiter.api.parallel.ExecutionMode;
import org.junit.jupiter.api.parallel.ResourceLock;

/**
 * A staged update under real systemd (issue 14, item 5): the .deb of this build installed in a Debian container
 * with systemd as PID 1, then two versions built here from it (unpacked, version bumped, packed again): version 2
 * is rolled out to the box, downloaded from a server on the host, installed by the root helper its path unit starts,
 * restarted and healthy; version 3, whose jar cannot start, is rolled out to all, never reports healthy, and the
 * helper reinstalls version 2 (kept from its install) and the box reports the rollback. The version installed before
 * the first update is rebuilt from dpkg's database for the rollback.
 */
@Execution(ExecutionMode.CONCURRENT) // mostly waiting on systemd (path unit, restarts, health): runs beside the other ITs (pom.xml, failsafe)
@ResourceLock(SystemdContainer.BOOTS)
class UpdateUnderSystemdIT {
    private static final String UNIT = "7stamp-gateway.service";
    private static final String HELPER = "7stamp-gateway-update.service";
    private static final Duration WAIT = Duration.ofSeconds(60);
    private static final Duration UPDATE_WAIT = Duration.ofMinutes(5);

    @TempDir
    Path dir;

    private FleetSink fleet;

    @Test
    void aNewVersionIsInstalledAndHealthyAndABrokenOneIsRolledBack() throws Exception {
        assertEquals("0", SystemdContainer.run(List.of("id", "-u")).trim(),
                "the systemd test needs root (systemd-nspawn, cgroups); run scripts/test as root");
        Path deb = DebPackageIT.theDeb();
        String v1 = field(deb, "Version");
        String v2 = v1 + "+u2";
        String v3 = v1 + "+u3";
        Path www = Files.createDirectories(dir.resolve("www"));
        Path deb2 = rebuild(deb, v2, false, www.resolve("gw_2.deb"));
        Path deb3 = rebuild(deb, v3, true, www.resolve("gw_3.deb"));
        HttpServer files = serve(www);
        String base = "http://127.0.0.1:" + files.getAddress().getPort() + "/";
        try (SinkServer sink = (fleet = FleetSink.start(dir, WAIT)).server(); SystemdContainer box = SystemdContainer.boot(dir.resolve("box"))) {
            try {
                exercise(sink, box, deb, v1, v2, v3, deb2, deb3, base);
            } catch (AssertionError | RuntimeException e) {
                throw new AssertionError(e.getMessage() + "\n--- journal of " + UNIT + " and " + HELPER + ":\n"
                        + box.run("journalctl", "--no-pager", "-u", UNIT, "-u", HELPER, "-u", "7stamp-gateway-update.path").output(), e);
            }
        } finally {
            files.stop(0);
        }
    }

    private void exercise(SinkServer sink, SystemdContainer box, Path deb, String v1, String v2, String v3, Path deb2, Path deb3,
            String base) throws Exception {
        FleetRegistry registry = sink.fleet().registry();
        Files.copy(deb, box.root().resolve("root/gateway.deb"));
        box.exec("dpkg", "-i", "/root/gateway.deb");
        assertEquals("active", box.exec("systemctl", "is-active", "7stamp-gateway-update.path").trim(),
                "postinst started the update queue's path unit");
        String claim = fleet.api("claims", "create", "--location", "shop-up", "--uses", "1", "--expires", "1d").trim();
        String key = fleet.local("update", "key").trim();
        Path config = box.root().resolve("etc/7stamp-autopilot/gateway.properties");
        List<String> lines = new ArrayList<>(Files.readAllLines(config, StandardCharsets.UTF_8));
        lines.removeIf(l -> l.startsWith("mqtt.url=") || l.startsWith("provision.claimToken="));
        lines.addAll(List.of("mqtt.url=" + sink.brokerUrl(), "provision.claimToken=" + claim, "provision.hardwareId=hw-update-1",
                "fleet.heartbeat=5s", "update.trustedKey=" + key, "update.healthTimeout=60s"));
        Files.write(config, lines, StandardCharsets.UTF_8);
        box.exec("systemctl", "reset-failed", UNIT);
        box.exec("systemctl", "start", UNIT);
        await("the box online at the sink").atMost(WAIT).until(() -> registry.devices().stream().anyMatch(FleetRegistry.Device::online));
        String id = registry.devices().get(0).deviceId();
        String firstPid = box.property(UNIT, "MainPID");

        // version 2 to this one box: installed, restarted, healthy
        long t0 = System.nanoTime();
        sink.updates().publish(v2, base + "gw_2.deb", ManifestCheck.sha256(deb2), Files.size(deb2));
        assertEquals(List.of(id), sink.updates().rollout(v2, "one:" + id));
        await("version " + v2 + " healthy at the sink").atMost(UPDATE_WAIT).until(() -> {
            String s = state(sink, id, v2);
            if (s.equals("failed") || s.equals("rolled-back")) {
                throw new AssertionError("version " + v2 + " " + s + ": " + sink.updates().book().row(id, v2).orElseThrow().detail());
            }
            return s.equals("healthy");
        });
        Logger.info("update to {} healthy at the sink after {} ms", v2, (System.nanoTime() - t0) / 1_000_000);
        assertEquals(v2, box.exec("dpkg-query", "-W", "-f=${Version}", "7stamp-autopilot-gateway").trim());
        assertEquals("active", box.property(UNIT, "ActiveState"));
        assertTrue(!box.property(UNIT, "MainPID").equals(firstPid), "the gateway was restarted");
        assertEquals(v2, box.exec("cat", "/var/lib/7stamp-autopilot-update/installed.version").trim(), "version 2 kept for a rollback");
        String helperLog = box.exec("journalctl", "--no-pager", "-u", HELPER, "-o", "cat");
        assertTrue(helperLog.contains("installed version " + v1 + " kept for a rollback (rebuilt from dpkg's database)"), helperLog);
        assertTrue(helperLog.contains("update helper: version " + v2 + " is healthy"), helperLog);

        // version 3, which cannot start, to all: not healthy within 60 s, version 2 reinstalled, the box reports it
        t0 = System.nanoTime();
        sink.updates().publish(v3, base + "gw_3.deb", ManifestCheck.sha256(deb3), Files.size(deb3));
        sink.updates().rollout(v3, "all");
        await("version " + v3 + " rolled back at the sink").atMost(UPDATE_WAIT).until(() -> state(sink, id, v3).equals("rolled-back"));
        Logger.info("broken update to {} rolled back and reported after {} ms", v3, (System.nanoTime() - t0) / 1_000_000);
        UpdateBook.Row row = sink.updates().book().row(id, v3).orElseThrow();
        assertEquals("version " + v3 + " did not report healthy within 60 s; reinstalled " + v2, row.detail());
        assertEquals(v2, box.exec("dpkg-query", "-W", "-f=${Version}", "7stamp-autopilot-gateway").trim());
        await("the gateway of version 2 running again").atMost(WAIT).until(() -> box.property(UNIT, "ActiveState").equals("active"));
        await("the box online again").atMost(WAIT).until(() -> registry.device(id).orElseThrow().online());
        String gatewayLog = box.exec("journalctl", "--no-pager", "-u", UNIT, "-o", "cat");
        assertTrue(gatewayLog.contains("Invalid or corrupt jarfile"), "version 3 was started and failed");
    }

    private static String state(SinkServer sink, String id, String version) {
        return sink.updates().book().row(id, version).map(UpdateBook.Row::state).orElse("none");
    }

    /** The package unpacked, its version set, for {@code broken} its jar replaced by one the JVM refuses, packed again. */
    private Path rebuild(Path deb, String version, boolean broken, Path out) throws IOException, InterruptedException {
        Path tree = dir.resolve("tree-" + version);
        SystemdContainer.run(List.of("dpkg-deb", "-R", deb.toString(), tree.toString()));
        Path control = tree.resolve("DEBIAN/control");
        List<String> lines = new ArrayList<>();
        for (String l : Files.readAllLines(control, StandardCharsets.UTF_8)) {
            lines.add(l.startsWith("Version: ") ? "Version: " + version : l);
        }
        Files.write(control, lines, StandardCharsets.UTF_8);
        if (broken) {
            Files.writeString(tree.resolve("usr/share/7stamp-autopilot/autopilot-gateway.jar"), "not a jar\n");
        }
        SystemdContainer.run(List.of("dpkg-deb", "--root-owner-group", "-b", tree.toString(), out.toString()));
        assertEquals(version, field(out, "Version"));
        return out;
    }

    private static String field(Path deb, String name) throws IOException, InterruptedException {
        return SystemdContainer.run(List.of("dpkg-deb", "--field", deb.toString(), name)).trim();
    }

    private static HttpServer serve(Path www) throws IOException {
        HttpServer files = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        files.createContext("/", ex -> {
            Path f = www.resolve(ex.getRequestURI().getPath().substring(1));
            if (!Files.isRegularFile(f)) {
                ex.sendResponseHeaders(404, -1);
            } else {
                ex.sendResponseHeaders(200, Files.size(f));
                try (var o = ex.getResponseBody()) {
                    Files.copy(f, o);
                }
            }
            ex.close();
        });
        files.start();
        return files;
    }


}
