package app.sevenstamp.autopilot.sink.wallet.google;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import app.sevenstamp.autopilot.sink.cli.SinkCli;
import app.sevenstamp.autopilot.sink.config.GoogleWalletSettings;
import app.sevenstamp.autopilot.sink.wallet.WalletFinding;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.KeyPairGenerator;
import java.time.Clock;
import java.util.List;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The Google part of {@code wallet check}: what it says for each thing an operator gets wrong. */
class GoogleWalletCheckTest {
    @TempDir
    Path dir;
    FakeGoogle google;

    @BeforeEach
    void start() throws Exception {
        google = new FakeGoogle();
    }

    @AfterEach
    void stop() {
        google.close();
    }

    GoogleWalletSettings settings(Path file) {
        return new GoogleWalletSettings("3388000000012345678", file, "Corner Café", URI.create("https://cards.example.com/logo.png"),
                List.of("https://cards.example.com"), google.base(), null);
    }

    String report(GoogleWalletSettings s) {
        List<WalletFinding> f = GoogleWalletCheck.run(s, HttpClient.newHttpClient(), Clock.systemUTC());
        return f.stream().map(Object::toString).collect(Collectors.joining("\n")) + (WalletFinding.allOk(f) ? "\nPASSED" : "\nFAILED");
    }

    @Test
    void aGoodKeyFileGetsAToken() throws Exception {
        Path file = google.writeServiceAccount(dir, google.keys);
        Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("rw-------"));
        String r = report(settings(file));
        assertTrue(r.endsWith("PASSED"), r);
        assertTrue(r.contains("ok       google: service account " + FakeGoogle.EMAIL + ", RSA key of 2048 bits (key id kid-1)"), r);
        assertTrue(r.contains("gave an access token"), r);
        assertEquals(1, google.tokenRequests.get());
    }

    @Test
    void eachMissingPieceIsNamed() throws Exception {
        String off = report(GoogleWalletSettings.OFF);
        assertTrue(off.contains("ok       google: off: google.issuerId is not set; the join page offers no Google Wallet button"), off);

        String missing = report(settings(dir.resolve("nope.json")));
        assertTrue(missing.contains("problem  google: google.serviceAccountFile " + dir.resolve("nope.json") + " does not exist"), missing);

        Path notJson = dir.resolve("bad.json");
        Files.writeString(notJson, "{\"type\":\"authorized_user\"}");
        String wrongType = report(settings(notJson));
        assertTrue(wrongType.contains("\"type\" is 'authorized_user', not 'service_account'"), wrongType);

        Path file = google.writeServiceAccount(dir, google.keys);
        Files.writeString(file, Files.readString(file).replace("MII", "XYZ"));
        String badKey = report(settings(file));
        assertTrue(badKey.contains("private_key does not parse as an RSA key"), badKey);
        assertEquals(0, google.tokenRequests.get());
    }

    @Test
    void aKeyGoogleRefusesAndAFileOthersCanReadFail() throws Exception {
        KeyPairGenerator g = KeyPairGenerator.getInstance("RSA");
        g.initialize(2048);
        Path file = google.writeServiceAccount(dir, g.generateKeyPair());
        Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("rw-r--r--"));
        String r = report(settings(file));
        assertTrue(r.endsWith("FAILED"), r);
        assertTrue(r.contains("is readable by group or others"), r);
        assertTrue(r.contains("HTTP 400 invalid_grant Invalid JWT Signature."), r);

        google.close();
        String down = report(settings(file));
        assertTrue(down.contains("did not answer"), down);
        assertFalse(down.endsWith("PASSED"));
    }

    @Test
    void theCliCommandReportsBothWalletsAndExitsOnTheResult() throws Exception {
        Path file = google.writeServiceAccount(dir, google.keys);
        Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("rw-------"));
        Path config = dir.resolve("sink.properties");
        Files.writeString(config, String.join("\n", "store.dir=" + dir.resolve("store"), "program.coffee.stampsRequired=10",
                "google.issuerId=3388000000012345678", "google.serviceAccountFile=" + file, "google.issuerName=Corner Cafe",
                "google.logoUrl=https://cards.example.com/logo.png", "google.apiUrl=" + google.base(), ""));
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        SinkCli cli = new SinkCli(new PrintStream(out, true, StandardCharsets.UTF_8), new PrintStream(new ByteArrayOutputStream(), true,
                StandardCharsets.UTF_8));
        int code = cli.run(new String[] {"wallet", "check", "--config", config.toString()});
        String report = out.toString(StandardCharsets.UTF_8);
        assertEquals(SinkCli.OK, code, report);
        assertTrue(report.startsWith("ok       apple: off: wallet.apple.passTypeId is not set"), report);
        assertTrue(report.contains("ok       google: the token endpoint"), report);
        assertEquals(1, google.tokenRequests.get(), "the command asked Google's (fake) token endpoint once");

        google.close();
        out.reset();
        code = cli.run(new String[] {"wallet", "check", "--config", config.toString()});
        assertEquals(SinkCli.REFUSED, code, out.toString(StandardCharsets.UTF_8));
        assertTrue(out.toString(StandardCharsets.UTF_8).contains("problem  google: "), out.toString(StandardCharsets.UTF_8));
    }
}
