package app.sevenstamp.autopilot.gateway.update;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import app.sevenstamp.autopilot.gateway.config.UpdateSettings;
import app.sevenstamp.autopilot.protocol.UpdateManifest;
import app.sevenstamp.autopilot.protocol.UpdateReport;
import app.sevenstamp.autopilot.protocol.WireCodec;
import app.sevenstamp.autopilot.protocol.support.Ed25519;
import app.sevenstamp.autopilot.protocol.testing.Tools;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.util.List;
import java.util.Properties;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The root helper trusts nothing the gateway's user can write: what lands in the queue is checked again on root's
 * own copy, and a refused request installs nothing (the install command would leave a mark).
 */
class UpdateHelperTest {
    private static final String BOX = "box-1";
    private final byte[] sink = Ed25519.newSeed(new SecureRandom());
    private final WireCodec codec = new WireCodec();

    @TempDir
    Path dir;
    private Path state;
    private Path installs;
    private UpdateHelper helper;
    private Spool spool;

    @BeforeEach
    void box() throws Exception {
        state = dir.resolve("state");
        installs = dir.resolve("installs");
        Files.writeString(dir.resolve("status"), "Package: 7stamp-autopilot-gateway\nStatus: install ok installed\nVersion: 0.1.0\n\n");
        Files.createDirectories(dir.resolve("keep"));
        Files.copy(deb("7stamp-autopilot-gateway", "0.1.0"), dir.resolve("keep/installed.deb"));
        Files.writeString(dir.resolve("keep/installed.version"), "0.1.0");
        Properties p = new Properties();
        p.setProperty("update.trustedKey", UpdateManifest.base64(Ed25519.publicKeyOf(sink)));
        p.setProperty("update.healthTimeout", "5s");
        p.setProperty("update.keepDir", dir.resolve("keep").toString());
        p.setProperty("update.dpkgStatus", dir.resolve("status").toString());
        p.setProperty("update.installCommand", "echo \"$1\" >> '" + installs + "'");
        p.setProperty("update.restartCommand", "true");
        helper = new UpdateHelper(UpdateSettings.take(p, "test"), state, BOX);
        spool = new Spool(state);
    }

    private void queue(UpdateManifest m, Path deb) throws Exception {
        Files.createDirectories(spool.dir());
        Files.copy(deb, spool.file(Spool.DEB));
        spool.write(Spool.REQUEST, new String(codec.encode(m), StandardCharsets.UTF_8));
    }

    private UpdateManifest manifest(Path deb, String version) throws Exception {
        return new UpdateManifest(1, BOX, version, "https://u.example/gw.deb", ManifestCheck.sha256(deb), Files.size(deb), null);
    }

    private void assertRefused(String reason) throws Exception {
        assertEquals(0, helper.run());
        UpdateReport r = spool.result().orElseThrow();
        assertEquals("failed", r.state());
        assertTrue(r.detail().contains(reason), r.detail());
        assertFalse(Files.exists(installs), "nothing installed");
        assertFalse(spool.exists(Spool.REQUEST) || spool.exists(Spool.TAKEN), "the request is gone");
    }

    @Test
    void aRequestTheGatewayUserWroteWithoutTheSinksSignatureInstallsNothing() throws Exception {
        Path deb = deb("7stamp-autopilot-gateway", "0.2.0");
        queue(manifest(deb, "0.2.0").signedWith(Ed25519.newSeed(new SecureRandom())), deb);
        assertRefused("the manifest's signature does not verify with update.trustedKey");
    }

    @Test
    void aPackageSwappedInAfterTheGatewayCheckedItInstallsNothing() throws Exception {
        Path deb = deb("7stamp-autopilot-gateway", "0.2.0");
        Path other = deb("7stamp-autopilot-gateway", "0.2.1");
        queue(manifest(deb, "0.2.0").signedWith(sink), other);
        assertRefused("the manifest says");
    }

    @Test
    void anotherPackageWithTheSignedHashStillInstallsNothing() throws Exception {
        Path deb = deb("openssh-server", "0.2.0");
        queue(manifest(deb, "0.2.0").signedWith(sink), deb);
        assertRefused("the package says 'Package: openssh-server Version: 0.2.0'");
    }

    @Test
    void anOlderSignedVersionInstallsNothing() throws Exception {
        Path deb = deb("7stamp-autopilot-gateway", "0.0.9");
        queue(manifest(deb, "0.0.9").signedWith(sink), deb);
        assertRefused("version 0.0.9 is older than the installed 0.1.0: no downgrade");
    }

    @Test
    void aGoodRequestWithoutAHealthMarkIsRolledBack() throws Exception {
        Path deb = deb("7stamp-autopilot-gateway", "0.2.0");
        queue(manifest(deb, "0.2.0").signedWith(sink), deb);
        assertEquals(0, helper.run());
        UpdateReport r = spool.result().orElseThrow();
        assertEquals(new UpdateReport("0.2.0", "rolled-back", "version 0.2.0 did not report healthy within 5 s; reinstalled 0.1.0"), r);
        assertEquals(2, Files.readAllLines(installs).size(), "installed, then the kept one again");
        assertTrue(Files.readAllLines(installs).get(1).endsWith("installed.deb"));
        assertFalse(spool.exists(Spool.INFLIGHT));
    }

    private Path deb(String pkg, String version) throws Exception {
        Path tree = dir.resolve("tree-" + pkg + "-" + version);
        Files.createDirectories(tree.resolve("DEBIAN"));
        Files.writeString(tree.resolve("DEBIAN/control"), "Package: " + pkg + "\nVersion: " + version
                + "\nArchitecture: all\nMaintainer: t <t@example.com>\nDescription: t\n");
        Path out = dir.resolve(pkg + "_" + version + ".deb");
        Process p = new ProcessBuilder(Tools.require("dpkg-deb", "dpkg").toString(), "--root-owner-group", "-b", tree.toString(),
                out.toString()).redirectErrorStream(true).start();
        p.getInputStream().readAllBytes();
        assertTrue(p.waitFor(60, TimeUnit.SECONDS));
        assertEquals(0, p.exitValue());
        return out;
    }

    /** As a power cut leaves it after the install: the request taken, the inflight mark, dpkg at the new version. */
    private void interruptedAfterTheInstall(boolean markedHealthy) throws Exception {
        Path deb = deb("7stamp-autopilot-gateway", "0.2.0");
        Files.createDirectories(spool.dir());
        spool.write(Spool.TAKEN, new String(codec.encode(manifest(deb, "0.2.0").signedWith(sink)), StandardCharsets.UTF_8));
        Properties inflight = new Properties();
        inflight.setProperty("version", "0.2.0");
        inflight.setProperty("token", "t-1");
        spool.write(Spool.INFLIGHT, inflight);
        Files.copy(deb, dir.resolve("keep/incoming.deb"));
        Files.writeString(dir.resolve("status"), "Package: 7stamp-autopilot-gateway\nStatus: install ok installed\nVersion: 0.2.0\n\n");
        if (markedHealthy) {
            spool.write(Spool.HEALTHY, "t-1"); // the gateway that started at boot
        }
    }

    @Test
    void aRunInterruptedAfterTheInstallKeepsTheNewVersionWhenItReportsHealthy() throws Exception {
        interruptedAfterTheInstall(true);
        assertEquals(0, helper.run());
        assertEquals(new UpdateReport("0.2.0", "healthy", "installed over 0.1.0"), spool.result().orElseThrow());
        assertEquals("0.2.0", Files.readString(dir.resolve("keep/installed.version")));
        assertFalse(Files.exists(installs), "nothing reinstalled");
        assertFalse(spool.exists(Spool.TAKEN) || spool.exists(Spool.INFLIGHT));
    }

    @Test
    void aRunInterruptedAfterTheInstallRollsBackWithoutAHealthMark() throws Exception {
        interruptedAfterTheInstall(false);
        assertEquals(0, helper.run());
        assertEquals(new UpdateReport("0.2.0", "rolled-back", "the update helper was interrupted during the install of 0.2.0 "
                + "(dpkg has 0.2.0); reinstalled 0.1.0"), spool.result().orElseThrow());
        assertEquals(1, Files.readAllLines(installs).size());
        assertTrue(Files.readAllLines(installs).get(0).endsWith("installed.deb"));
        assertFalse(spool.exists(Spool.TAKEN) || spool.exists(Spool.INFLIGHT));
    }

    @Test
    void linksTheGatewayUserPlantedAreNotFollowed() throws Exception {
        Path deb = deb("7stamp-autopilot-gateway", "0.2.0");
        queue(manifest(deb, "0.2.0").signedWith(sink), deb);
        Files.delete(spool.file(Spool.DEB));
        Files.createSymbolicLink(spool.file(Spool.DEB), deb); // the signed file, but through a link root would follow
        assertRefused("no regular file update.deb in the spool (a symbolic link is not followed)");

        // the spool itself pointed elsewhere: root writes nothing there
        Path elsewhere = Files.createDirectories(dir.resolve("elsewhere"));
        Path state2 = Files.createDirectories(dir.resolve("state2"));
        Files.createSymbolicLink(state2.resolve("update"), elsewhere);
        Files.writeString(elsewhere.resolve(Spool.REQUEST), "{}");
        UpdateHelper h = new UpdateHelper(UpdateSettings.take(new Properties(), "t"), state2, BOX);
        java.io.IOException e = org.junit.jupiter.api.Assertions.assertThrows(java.io.IOException.class, h::run);
        assertTrue(e.getMessage().contains("reached through a symbolic link"), e.getMessage());
        assertEquals(List.of(Spool.REQUEST), Files.list(elsewhere).map(f -> f.getFileName().toString()).toList());
    }
}
