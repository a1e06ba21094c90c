package app.sevenstamp.autopilot.gateway.update;

import app.sevenstamp.autopilot.gateway.testing.GatewayProps;
import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import app.sevenstamp.autopilot.gateway.Gateway;
import app.sevenstamp.autopilot.gateway.config.UpdateSettings;
import app.sevenstamp.autopilot.gateway.support.Ticker;
import app.sevenstamp.autopilot.gateway.config.GatewayConfig;
import app.sevenstamp.autopilot.protocol.testing.Tools;
import app.sevenstamp.autopilot.sink.SinkServer;
import app.sevenstamp.autopilot.sink.cli.SinkCli;
import app.sevenstamp.autopilot.sink.testing.TestSink;
import app.sevenstamp.autopilot.sink.update.UpdateBook;
import com.sun.net.httpserver.HttpServer;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Properties;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A staged update on the real parts: the sink with its embedded broker (publish, rollout, status through its CLI),
 * an in-process gateway with the updater, the .debs served over HTTP, and the root helper as the path unit runs it
 * (when the request appears), with fake install and restart commands: the install writes the package's version into
 * a dpkg status file, the restart flags that the test must restart the gateway. Version 0.2.0 comes up (its
 * gateway reports healthy) and is kept; version 0.3.0 never comes up, and 0.2.0 is reinstalled and reported.
 */
class UpdateRolloutIT {
    private static final String BOX = "box-upd-1";
    private static final Duration WAIT = Duration.ofSeconds(60);

    @TempDir
    Path dir;

    private SinkServer sink;
    private Path sinkConfig;
    private String sinkUrl;
    private HttpServer files;
    private Gateway gateway;
    private UpdateSettings updates;
    private Path state;
    private Path dpkgStatus;
    private Path restartFlag;
    private Path installs;

    @AfterEach
    void stop() {
        if (gateway != null) {
            gateway.close();
        }
        if (files != null) {
            files.stop(0);
        }
        if (sink != null) {
            sink.close();
        }
    }

    @Test
    void aHealthyVersionIsKeptAndOneThatNeverReportsHealthyIsRolledBack() throws Exception {
        TestSink config = TestSink.in(dir).program("coffee", 5);
        sinkConfig = config.write();
        sink = config.start();
        sinkUrl = "http://127.0.0.1:" + sink.httpPort();
        assertTrue(sink.fleet().awaitReady(WAIT));

        files = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        files.createContext("/", ex -> {
            Path f = dir.resolve("www").resolve(ex.getRequestURI().getPath().substring(1));
            if (!Files.isRegularFile(f)) {
                ex.sendResponseHeaders(404, -1);
            } else {
                ex.sendResponseHeaders(200, Files.size(f));
                try (var out = ex.getResponseBody()) {
                    Files.copy(f, out);
                }
            }
            ex.close();
        });
        files.start();
        String www = "http://127.0.0.1:" + files.getAddress().getPort() + "/";
        Path v1 = deb("0.1.0");
        Path v2 = deb("0.2.0");
        Path v3 = deb("0.3.0");

        // the box: 0.1.0 installed (dpkg's status file), its .deb kept by an earlier update; the helper's commands fake
        state = dir.resolve("gateway");
        dpkgStatus = dir.resolve("dpkg-status");
        restartFlag = dir.resolve("restart-requested");
        installs = dir.resolve("installs");
        writeStatus("0.1.0");
        Path keep = dir.resolve("keep");
        Files.createDirectories(keep);
        Files.copy(v1, keep.resolve("installed.deb"));
        Files.writeString(keep.resolve("installed.version"), "0.1.0");
        String key = cli("update", "key").trim();
        Properties up = new Properties();
        up.setProperty("update.trustedKey", key);
        up.setProperty("update.healthTimeout", "8s");
        up.setProperty("update.keepDir", keep.toString());
        up.setProperty("update.dpkgStatus", dpkgStatus.toString());
        up.setProperty("update.installCommand", "v=$(dpkg-deb --field \"$1\" Version) && printf 'Package: 7stamp-autopilot-gateway\\n"
                + "Status: install ok installed\\nVersion: %s\\n\\n' \"$v\" > '" + dpkgStatus + "' && echo \"$v\" >> '" + installs + "'");
        up.setProperty("update.restartCommand", "touch '" + restartFlag + "'");
        updates = UpdateSettings.take(up, "UpdateRolloutIT");
        startGateway();
        await("the box known to the sink").atMost(WAIT).until(() -> sink.fleet().registry().device(BOX).isPresent());

        // attacks first, through the sink's own command channel: a malformed manifest, a forged one, another box's
        long refusedBefore = gateway.updater().refused();
        sink.fleet().sendUpdate(BOX, "x", "{not json");
        String forged = "{\"schema\":1,\"deviceId\":\"" + BOX + "\",\"version\":\"9.0\",\"url\":\"" + www + "evil.deb\",\"sha256\":\""
                + "0".repeat(64) + "\",\"size\":10,\"signature\":\"" + "A".repeat(85) + "A\"}";
        sink.fleet().sendUpdate(BOX, "9.0", forged);
        await("both refused and counted").atMost(WAIT).until(() -> gateway.updater().refused() == refusedBefore + 2);
        assertTrue(Files.notExists(state.resolve("update").resolve(Spool.REQUEST)), "nothing queued for root");

        // 1. version 0.2.0 to one box: downloaded, queued, installed by the helper, restarted, healthy
        Files.copy(v2, dir.resolve("www").resolve("gw_0.2.0.deb"));
        assertTrue(cli("update", "publish", "--deb", v2.toString(), "--version", "0.2.0", "--url", www + "gw_0.2.0.deb")
                .startsWith("published 0.2.0 sha256 "));
        assertTrue(cli("update", "rollout", "--version", "0.2.0", "--stage", "one:" + BOX).contains("1 box(es) added: " + BOX));
        Thread helper = pathUnit();
        await("the helper installed and asked for a restart").atMost(WAIT).until(() -> Files.exists(restartFlag));
        Files.delete(restartFlag);
        restartGateway(true); // the new version starts and reaches the broker
        await("0.2.0 healthy at the sink").atMost(WAIT).until(() -> state("0.2.0").equals("healthy"));
        helper.join(10_000);
        assertEquals(List.of("0.2.0"), Files.readAllLines(installs));
        assertEquals("0.2.0", Files.readString(keep.resolve("installed.version")));
        assertTrue(cli("update", "status").contains(BOX + "\t0.2.0\thealthy\tone:" + BOX));

        // 2. the same version again: already installed, nothing downloaded (its row stays healthy)
        // 3. version 0.3.0 to all: installed, never reports healthy, 0.2.0 reinstalled, rolled-back at the sink
        Files.copy(v3, dir.resolve("www").resolve("gw_0.3.0.deb"));
        cli("update", "publish", "--deb", v3.toString(), "--version", "0.3.0", "--url", www + "gw_0.3.0.deb");
        cli("update", "rollout", "--version", "0.3.0", "--stage", "all");
        helper = pathUnit();
        await("the helper installed 0.3.0 and asked for a restart").atMost(WAIT).until(() -> Files.exists(restartFlag));
        Files.delete(restartFlag);
        restartGateway(false); // the broken version: nothing starts
        await("the rollback's restart").atMost(WAIT).until(() -> Files.exists(restartFlag));
        restartGateway(true); // 0.2.0 again
        await("rolled back at the sink").atMost(WAIT).until(() -> state("0.3.0").equals("rolled-back"));
        helper.join(10_000);
        UpdateBook.Row row = updatesRow("0.3.0").orElseThrow();
        assertEquals("version 0.3.0 did not report healthy within 8 s; reinstalled 0.2.0", row.detail());
        assertEquals(List.of("0.2.0", "0.3.0", "0.2.0"), Files.readAllLines(installs));
        assertEquals(Optional.of("0.2.0"), ManifestCheck.installedVersion(dpkgStatus, "7stamp-autopilot-gateway"));
        assertEquals("0.2.0", Files.readString(keep.resolve("installed.version")), "the kept version is still the healthy one");

        // a downgrade the sink is asked for is refused by the box
        Path v1www = dir.resolve("www").resolve("gw_0.1.0.deb");
        Files.copy(v1, v1www);
        cli("update", "publish", "--deb", v1.toString(), "--version", "0.1.0", "--url", www + "gw_0.1.0.deb");
        cli("update", "rollout", "--version", "0.1.0", "--stage", "percent:100");
        await("the downgrade refused").atMost(WAIT).until(() -> state("0.1.0").equals("failed"));
        assertEquals("version 0.1.0 is older than the installed 0.2.0: no downgrade", updatesRow("0.1.0").orElseThrow().detail());
        assertEquals(3, Files.readAllLines(installs).size(), "nothing installed");
    }

    /** What the path unit does: runs the helper once the gateway queued a request. */
    private Thread pathUnit() {
        Thread t = new Thread(() -> {
            try {
                await().atMost(WAIT).until(() -> Files.exists(state.resolve("update").resolve(Spool.REQUEST)));
                new UpdateHelper(updates, state, BOX).run();
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        }, "path-unit");
        t.start();
        return t;
    }

    private String state(String version) {
        return updatesRow(version).map(UpdateBook.Row::state).orElse("none");
    }

    private Optional<UpdateBook.Row> updatesRow(String version) {
        return sink.updates().book().row(BOX, version);
    }

    private void restartGateway(boolean start) throws Exception {
        if (gateway != null) {
            gateway.close();
            gateway = null;
        }
        if (start) {
            startGateway();
        }
    }

    private void startGateway() throws Exception {
        GatewayConfig config = GatewayProps.counter(BOX, sink.trustedKey(), state, sink.brokerUrl())
                .set("mqtt.reconnect.max", "2s").config(BOX, dir);
        gateway = Gateway.start(config, new Gateway.Environment(Clock.systemUTC(), Ticker.SYSTEM,
                new ByteArrayInputStream(new byte[0]), new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8),
                false, "boot-" + System.nanoTime(), () -> true), Duration.ofSeconds(2), "test", () -> { }, updates);
    }

    private void writeStatus(String version) throws IOException {
        Files.writeString(dpkgStatus, "Package: 7stamp-autopilot-gateway\nStatus: install ok installed\nVersion: " + version + "\n\n");
    }

    /** A small real .deb of the gateway's package name at {@code version}. */
    private Path deb(String version) throws IOException, InterruptedException {
        Path tree = dir.resolve("deb-" + version);
        Files.createDirectories(tree.resolve("DEBIAN"));
        Files.createDirectories(tree.resolve("usr/share/7stamp-autopilot"));
        Files.writeString(tree.resolve("usr/share/7stamp-autopilot/VERSION"), version + "\n");
        Files.writeString(tree.resolve("DEBIAN/control"), "Package: 7stamp-autopilot-gateway\nVersion: " + version
                + "\nArchitecture: all\nMaintainer: test <t@example.com>\nDescription: test package\n");
        Files.createDirectories(dir.resolve("www"));
        Path out = dir.resolve("gw_" + version + ".deb");
        Process p = new ProcessBuilder(Tools.require("dpkg-deb", "dpkg").toString(), "--root-owner-group", "-b", tree.toString(),
                out.toString()).redirectErrorStream(true).start();
        String text = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(60, TimeUnit.SECONDS));
        assertEquals(0, p.exitValue(), text);
        return out;
    }

    private String cli(String... args) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        List<String> line = new ArrayList<>(List.of(args));
        line.addAll(List.of("--config", sinkConfig.toString()));
        if (!args[1].equals("key")) {
            line.addAll(List.of("--url-api", sinkUrl));
        }
        int status = new SinkCli(new PrintStream(out, true, StandardCharsets.UTF_8), new PrintStream(err, true, StandardCharsets.UTF_8))
                .run(line.toArray(String[]::new));
        String printed = out.toString(StandardCharsets.UTF_8);
        assertEquals(0, status, String.join(" ", args) + ": " + printed + err.toString(StandardCharsets.UTF_8));
        return printed;
    }
}
