package app.sevenstamp.autopilot.gateway.update;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import app.sevenstamp.autopilot.gateway.config.UpdateSettings;
import app.sevenstamp.autopilot.protocol.DeviceCommand;
import app.sevenstamp.autopilot.protocol.UpdateManifest;
import app.sevenstamp.autopilot.protocol.UpdateReport;
import app.sevenstamp.autopilot.protocol.WireCodec;
import app.sevenstamp.autopilot.protocol.support.Ed25519;
import com.sun.net.httpserver.HttpServer;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Properties;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The gateway's updater against a download server that misbehaves: nothing but the signed file is ever queued. */
class UpdaterTest {
    private static final String BOX = "box-1";
    private final byte[] sink = Ed25519.newSeed(new SecureRandom());
    private final WireCodec codec = new WireCodec();
    private final List<String> acks = new CopyOnWriteArrayList<>();

    @TempDir
    Path dir;
    private HttpServer server;
    private String base;
    private Updater updater;
    private byte[] served;

    @BeforeEach
    void start() throws Exception {
        server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        server.createContext("/", ex -> {
            if (served == null) {
                ex.sendResponseHeaders(404, -1);
            } else {
                ex.sendResponseHeaders(200, served.length);
                ex.getResponseBody().write(served);
            }
            ex.close();
        });
        server.start();
        base = "http://127.0.0.1:" + server.getAddress().getPort() + "/";
        Properties p = new Properties();
        p.setProperty("update.trustedKey", UpdateManifest.base64(Ed25519.publicKeyOf(sink)));
        p.setProperty("update.maxMegabytes", "1");
        p.setProperty("update.dpkgStatus", dir.resolve("none").toString());
        updater = new Updater(BOX, UpdateSettings.take(p, "test"), dir, () -> { });
    }

    @AfterEach
    void stop() {
        updater.close();
        server.stop(0);
    }

    private void send(UpdateManifest m) {
        updater.command(new DeviceCommand(1, "c-1", BOX, "update", new String(codec.encode(m), StandardCharsets.UTF_8), Instant.now()),
                (ok, result) -> acks.add(ok + " " + result));
    }

    private UpdateManifest manifestFor(byte[] content, long size) throws Exception {
        Path f = dir.resolve("signed.deb");
        Files.write(f, content);
        return new UpdateManifest(1, BOX, "0.2.0", base + "gw.deb", ManifestCheck.sha256(f), size, null).signedWith(sink);
    }

    private UpdateReport finalReport() {
        await().atMost(Duration.ofSeconds(20)).until(() -> updater.report() != null && updater.report().state().equals("failed"));
        assertFalse(Files.exists(dir.resolve("update").resolve(Spool.REQUEST)), "nothing queued for root");
        return updater.report();
    }

    @Test
    void aLongerDownloadIsCutAtTheManifestsSize() throws Exception {
        byte[] good = "the signed package".getBytes(StandardCharsets.UTF_8);
        UpdateManifest m = manifestFor(good, good.length);
        served = new byte[500_000]; // an endless stream would be cut the same way
        send(m);
        assertEquals("the download is longer than the manifest's 18 bytes; stopped", finalReport().detail());
    }

    @Test
    void otherBytesOfTheSameSizeAreRefusedByTheirHash() throws Exception {
        byte[] good = "the signed package".getBytes(StandardCharsets.UTF_8);
        UpdateManifest m = manifestFor(good, good.length);
        served = "the forged package".getBytes(StandardCharsets.UTF_8);
        send(m);
        assertTrue(finalReport().detail().startsWith("the download's SHA-256 is "), updater.report().detail());
    }

    @Test
    void aMissingFileAndAPackageAboveTheCapAreReported() throws Exception {
        byte[] good = "x".getBytes(StandardCharsets.UTF_8);
        send(manifestFor(good, good.length));
        assertTrue(finalReport().detail().endsWith("answered HTTP 404"), updater.report().detail());
        acks.clear();
        UpdateManifest big = new UpdateManifest(1, BOX, "0.3.0", base + "big.deb", "0".repeat(64), 2L * 1024 * 1024, null).signedWith(sink);
        send(big);
        assertEquals(List.of("false refused: the package has 2097152 bytes, more than update.maxMegabytes allows (1048576)"), acks);
    }

    @Test
    void theSignedFileIsQueuedForRoot() throws Exception {
        byte[] good = "the signed package".getBytes(StandardCharsets.UTF_8);
        served = good;
        send(manifestFor(good, good.length));
        await().atMost(Duration.ofSeconds(20)).until(() -> Files.exists(dir.resolve("update").resolve(Spool.REQUEST)));
        assertEquals("installing", updater.report().state());
        assertTrue(acks.get(0).startsWith("true downloading 0.2.0"), acks.toString());
    }
}
