package app.sevenstamp.autopilot.gateway.update;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import app.sevenstamp.autopilot.gateway.config.UpdateSettings;
import app.sevenstamp.autopilot.protocol.UpdateManifest;
import app.sevenstamp.autopilot.protocol.support.Ed25519;
import app.sevenstamp.autopilot.protocol.support.ConfigException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.PublicKey;
import java.security.SecureRandom;
import java.util.Optional;
import java.util.Properties;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** What the gateway and the root helper refuse before anything is downloaded or installed. */
class ManifestCheckTest {
    private static final String BOX = "shop-1-7f3a9c";
    private final byte[] sink = Ed25519.newSeed(new SecureRandom());
    private final PublicKey trusted = Ed25519.publicKey(Ed25519.publicKeyOf(sink));

    @TempDir
    Path dir;

    private Path deb() throws Exception {
        Path f = dir.resolve("gw.deb");
        Files.writeString(f, "not really a deb, but bytes with a hash", StandardCharsets.UTF_8);
        return f;
    }

    private UpdateManifest manifest(String device, String version, Path deb) throws Exception {
        return new UpdateManifest(1, device, version, "https://u.example/gw.deb", ManifestCheck.sha256(deb), Files.size(deb), null);
    }

    @Test
    void theSinksManifestForThisBoxAndANewerVersionPasses() throws Exception {
        Path deb = deb();
        UpdateManifest m = manifest(BOX, "0.2.0", deb).signedWith(sink);
        assertEquals(Optional.empty(), ManifestCheck.refusal(m, trusted, BOX, Optional.of("0.1.0")));
        assertEquals(Optional.empty(), ManifestCheck.fileRefusal(m, deb));
    }

    @Test
    void aForgedOrUnsignedManifestIsRefused() throws Exception {
        UpdateManifest m = manifest(BOX, "0.2.0", deb());
        assertEquals(Optional.of("the manifest is not signed"), ManifestCheck.refusal(m, trusted, BOX, Optional.empty()));
        byte[] attacker = Ed25519.newSeed(new SecureRandom());
        assertEquals(Optional.of("the manifest's signature does not verify with update.trustedKey"),
                ManifestCheck.refusal(m.signedWith(attacker), trusted, BOX, Optional.empty()));
        // the sink's signature on one manifest, the URL and hash of another file
        UpdateManifest signed = m.signedWith(sink);
        UpdateManifest swapped = new UpdateManifest(1, BOX, "0.2.0", "https://evil.example/gw.deb", signed.sha256(), signed.size(),
                signed.signature());
        assertEquals(Optional.of("the manifest's signature does not verify with update.trustedKey"),
                ManifestCheck.refusal(swapped, trusted, BOX, Optional.empty()));
    }

    @Test
    void aFileThatIsNotTheManifestsIsRefused() throws Exception {
        Path deb = deb();
        UpdateManifest m = manifest(BOX, "0.2.0", deb).signedWith(sink);
        Files.writeString(deb, "not really a deb, but bytes with a hasX", StandardCharsets.UTF_8); // same size
        assertEquals(Optional.of("the file's SHA-256 is " + ManifestCheck.sha256(deb) + ", the manifest says " + m.sha256()),
                ManifestCheck.fileRefusal(m, deb));
        Files.writeString(deb, "short", StandardCharsets.UTF_8);
        assertEquals(Optional.of("the file has 5 bytes, the manifest says " + m.size()), ManifestCheck.fileRefusal(m, deb));
    }

    @Test
    void aManifestForAnotherBoxIsRefused() throws Exception {
        UpdateManifest m = manifest("shop-2-000000", "0.2.0", deb()).signedWith(sink);
        assertEquals(Optional.of("the manifest is for device shop-2-000000, this box is " + BOX),
                ManifestCheck.refusal(m, trusted, BOX, Optional.empty()));
    }

    @Test
    void anOlderOrTheSameVersionIsRefused() throws Exception {
        UpdateManifest m = manifest(BOX, "0.1.0~snapshot", deb()).signedWith(sink);
        assertEquals(Optional.of("version 0.1.0~snapshot is older than the installed 0.1.0: no downgrade"),
                ManifestCheck.refusal(m, trusted, BOX, Optional.of("0.1.0")));
        assertEquals(Optional.of("version 0.1.0~snapshot is already installed"),
                ManifestCheck.refusal(m, trusted, BOX, Optional.of("0.1.0~snapshot")));
    }

    @Test
    void theInstalledVersionIsReadFromDpkgsStatusFile() throws Exception {
        Path status = dir.resolve("status");
        Files.writeString(status, String.join("\n",
                "Package: other", "Status: install ok installed", "Version: 9.9", "",
                "Package: 7stamp-autopilot-gateway", "Status: install ok installed", "Priority: optional", "Version: 0.1.0~snapshot",
                "Description: x", " more", "", "Package: removed-one", "Status: deinstall ok config-files", "Version: 1", ""));
        assertEquals(Optional.of("0.1.0~snapshot"), ManifestCheck.installedVersion(status, "7stamp-autopilot-gateway"));
        assertEquals(Optional.empty(), ManifestCheck.installedVersion(status, "removed-one"));
        assertEquals(Optional.empty(), ManifestCheck.installedVersion(dir.resolve("missing"), "x"));
    }

    @Test
    void aTrustedKeyThatIsNotAKeyStopsTheStart() {
        Properties p = new Properties();
        p.setProperty("update.trustedKey", "k1:abc");
        ConfigException e = assertThrows(ConfigException.class, () -> UpdateSettings.take(p, "gw.properties"));
        assertEquals(true, e.getMessage().startsWith("gw.properties: update.trustedKey: 'k1:abc' is not an Ed25519 public key"),
                e.getMessage());
        Properties unknown = new Properties();
        unknown.setProperty("update.trustedkey", "x");
        assertThrows(ConfigException.class, () -> UpdateSettings.take(unknown, "gw.properties"));
    }
}
