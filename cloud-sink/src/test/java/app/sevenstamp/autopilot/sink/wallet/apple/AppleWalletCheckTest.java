package app.sevenstamp.autopilot.sink.wallet.apple;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import app.sevenstamp.autopilot.sink.cli.SinkCli;
import app.sevenstamp.autopilot.sink.testing.TestPki;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code wallet check} as an operator runs it, on real certificate files. */
class AppleWalletCheckTest {
    @TempDir
    Path dir;

    private record Run(int code, String out, String err) {
    }

    private Run check(TestPki pki, String keyFile) throws Exception {
        Path config = dir.resolve("sink.properties");
        String wallet = pki == null ? "" : String.join("\n", "wallet.apple.passTypeId=" + TestPki.PASS_TYPE,
                "wallet.apple.teamId=" + TestPki.TEAM, "wallet.apple.cert=" + pki.file("pass.pem"),
                "wallet.apple.key=" + pki.file(keyFile), "wallet.apple.wwdr=" + pki.file("wwdr.pem"),
                "wallet.apple.webServiceUrl=https://cards.example.com", "");
        Files.writeString(config, "store.dir=" + dir.resolve("store") + "\nprogram.coffee.stampsRequired=10\n" + wallet);
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int code = new SinkCli(new PrintStream(out, true, StandardCharsets.UTF_8), new PrintStream(err, true, StandardCharsets.UTF_8))
                .run(new String[] {"wallet", "check", "--config", config.toString()});
        return new Run(code, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
    }

    @Test
    void allWellIsExitZero() throws Exception {
        Run r = check(new TestPki(dir), "pass.key");
        assertEquals(0, r.code(), r.out() + r.err());
        assertTrue(r.out().contains("ok       apple: the private key belongs to the pass certificate"), r.out());
        assertTrue(r.out().contains("ok       apple: the WWDR certificate issued the pass certificate"), r.out());
    }

    @Test
    void expiringSoonAndAForeignKeyAreProblems() throws Exception {
        TestPki pki = new TestPki(dir, Instant.now().minus(Duration.ofDays(300)), Instant.now().plus(Duration.ofDays(12)));
        pki.write("other.key", TestPki.rsa().getPrivate());
        Run r = check(pki, "other.key");
        assertEquals(SinkCli.REFUSED, r.code(), r.out());
        assertTrue(r.out().contains("problem  apple: the pass certificate expires on "), r.out());
        assertTrue(r.out().contains("problem  apple: the private key does not belong to the pass certificate"), r.out());
    }

    @Test
    void aMissingWwdrIsNamed() throws Exception {
        TestPki pki = new TestPki(dir);
        Files.delete(pki.file("wwdr.pem"));
        Run r = check(pki, "pass.key");
        assertEquals(SinkCli.CONFIG, r.code());
        assertTrue(r.err().contains("wallet.apple.wwdr: '" + pki.file("wwdr.pem") + "' is not a readable file"), r.err());
    }

    @Test
    void withoutSettingsBothAreOffAndThatIsAProblem() throws Exception {
        Run r = check(null, null);
        assertTrue(r.out().startsWith("ok       apple: off: wallet.apple.passTypeId is not set"), r.out());
        assertTrue(r.out().contains("ok       google: off: google.issuerId is not set"), r.out());
        assertTrue(r.out().contains("problem  wallets: neither Apple nor Google Wallet is set up"), r.out());
        assertEquals(SinkCli.REFUSED, r.code(), "nothing to check is something missing");
    }
}
