package app.sevenstamp.autopilot.sink.wallet.apple;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import app.sevenstamp.autopilot.sink.config.AppleWalletSettings;
import app.sevenstamp.autopilot.sink.testing.Pkpass;
import app.sevenstamp.autopilot.sink.testing.TestPki;
import app.sevenstamp.autopilot.sink.wallet.CardState;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Instant;
import java.util.HexFormat;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Every pass is checked by OpenSSL against the test CA, as Wallet checks it against Apple's. */
class PassPackageTest {
    static final String CODE = "7S1.k1.coffee.ABCDEFGHIJKLMNOP.sig";

    @TempDir
    Path dir;

    static AppleWalletSettings settings(TestPki pki, AppleWalletSettings.Barcode barcode) {
        return new AppleWalletSettings(TestPki.PASS_TYPE, TestPki.TEAM, pki.file("pass.pem"), pki.file("pass.key"), null, "",
                pki.file("wwdr.pem"), URI.create("https://cards.example.com"), URI.create("https://127.0.0.1:1"), null, null,
                null, Map.of("coffee", new AppleWalletSettings.PassStyle(barcode, "#112233", "#FFEEDD")));
    }

    @Test
    void passIsSignedAsWalletRequiresAndVerifiesWithOpenssl() throws Exception {
        TestPki pki = new TestPki(dir);
        AppleWalletSettings s = settings(pki, AppleWalletSettings.Barcode.QR);
        PassPackage pkg = new PassPackage(s, PassCredentials.load(s), null, null);
        CardState card = new CardState("ABCDEFGHIJKLMNOP", "coffee", "Coffee card", 3, 10, 1,
                List.of("Free coffee, code AB12, until 2027-01-01"));
        byte[] pkpass = pkg.build(card, CODE, "tok-0123456789abcdef", Instant.parse("2026-12-03T10:00:00Z"));

        Map<String, byte[]> files = Pkpass.unzip(pkpass);
        assertEquals(List.of("pass.json", "icon.png", "icon@2x.png", "logo.png", "logo@2x.png", "strip.png", "strip@2x.png",
                "manifest.json", "signature"), List.copyOf(files.keySet()));
        JsonNode manifest = new ObjectMapper().readTree(files.get("manifest.json"));
        assertEquals(files.size() - 2, manifest.size(), "every file but manifest and signature is listed");
        for (Iterator<String> it = manifest.fieldNames(); it.hasNext();) {
            String name = it.next();
            assertEquals(HexFormat.of().formatHex(MessageDigest.getInstance("SHA-1").digest(files.get(name))),
                    manifest.get(name).asText(), name);
        }
        JsonNode pass = new ObjectMapper().readTree(files.get("pass.json"));
        assertEquals(1, pass.get("formatVersion").asInt());
        assertEquals(TestPki.PASS_TYPE, pass.get("passTypeIdentifier").asText());
        assertEquals(TestPki.TEAM, pass.get("teamIdentifier").asText());
        assertEquals("ABCDEFGHIJKLMNOP", pass.get("serialNumber").asText());
        assertEquals("https://cards.example.com/passkit", pass.get("webServiceURL").asText());
        assertEquals("tok-0123456789abcdef", pass.get("authenticationToken").asText());
        assertEquals("PKBarcodeFormatQR", pass.get("barcodes").get(0).get("format").asText());
        assertEquals(CODE, pass.get("barcodes").get(0).get("message").asText());
        assertEquals("rgb(17, 34, 51)", pass.get("backgroundColor").asText());
        JsonNode header = pass.get("storeCard").get("headerFields").get(0);
        assertEquals("3 of 10", header.get("value").asText());
        assertEquals("Stamps: %@", header.get("changeMessage").asText());
        assertTrue(pass.get("storeCard").get("backFields").toString().contains("Free coffee, code AB12"));
        assertEquals(750, ImageIO.read(new ByteArrayInputStream(files.get("strip@2x.png"))).getWidth());

        Files.write(dir.resolve("manifest.json"), files.get("manifest.json"));
        Files.write(dir.resolve("signature"), files.get("signature"));
        // OpenSSL, not our code, is the judge: the chain pass -> WWDR (inside the signature) -> the test root
        Result verify = openssl("cms", "-verify", "-binary", "-inform", "DER", "-in", "signature", "-content",
                "manifest.json", "-CAfile", "ca.pem", "-purpose", "any", "-out", "/dev/null");
        assertEquals(0, verify.code, verify.output);
        assertTrue(verify.output.contains("Verification successful"), verify.output);
        Result print = openssl("cms", "-cmsout", "-print", "-inform", "DER", "-in", "signature");
        assertTrue(print.output.contains("signingTime"), print.output);
        assertTrue(print.output.contains("Test Worldwide Developer Relations"), "the WWDR certificate travels with it");

        // a changed manifest no longer verifies: the test can fail
        files.put("manifest.json", new String(files.get("manifest.json"), StandardCharsets.UTF_8).replace("\"pass.json\"", "\"pass.jsoN\"")
                .getBytes(StandardCharsets.UTF_8));
        Files.write(dir.resolve("manifest.json"), files.get("manifest.json"));
        assertNotEquals(0, openssl("cms", "-verify", "-binary", "-inform", "DER", "-in", "signature", "-content",
                "manifest.json", "-CAfile", "ca.pem", "-purpose", "any", "-out", "/dev/null").code);
    }

    @Test
    void barcodeFormatFollowsTheProgram() throws Exception {
        TestPki pki = new TestPki(dir);
        for (AppleWalletSettings.Barcode b : AppleWalletSettings.Barcode.values()) {
            AppleWalletSettings s = settings(pki, b);
            PassPackage pkg = new PassPackage(s, PassCredentials.load(s), null, null);
            JsonNode pass = new ObjectMapper().readTree(pkg.passJson(new CardState("ABCDEFGHIJKLMNOP", "coffee", "Coffee", 0, 10,
                    0, List.of()), CODE, "t", s.style("coffee")));
            assertEquals(b.passKitName(), pass.get("barcodes").get(0).get("format").asText());
            assertEquals(b != AppleWalletSettings.Barcode.CODE128, pass.has("barcode"), b.name());
        }
    }

    @Test
    void checkNamesWhatIsWrong() throws Exception {
        TestPki pki = new TestPki(dir, Instant.now().minusSeconds(86_400), Instant.now().plusSeconds(86_400 * 10));
        AppleWalletSettings s = settings(pki, AppleWalletSettings.Barcode.QR);
        PassCredentials good = PassCredentials.load(s);
        List<String> soon = good.problems(TestPki.PASS_TYPE, TestPki.TEAM, Instant.now());
        assertEquals(1, soon.size(), soon.toString());
        assertTrue(soon.get(0).startsWith("the pass certificate expires on "), soon.get(0));
        PassCredentials wrongKey = new PassCredentials(pki.pass, TestPki.rsa().getPrivate(), pki.wwdr);
        assertTrue(wrongKey.problems(TestPki.PASS_TYPE, TestPki.TEAM, Instant.now()).stream()
                .anyMatch(p -> p.startsWith("the private key does not belong")));
        PassCredentials wrongWwdr = new PassCredentials(pki.pass, pki.passKeys.getPrivate(), pki.ca);
        assertTrue(wrongWwdr.problems(TestPki.PASS_TYPE, TestPki.TEAM, Instant.now()).stream()
                .anyMatch(p -> p.startsWith("the pass certificate was not issued by the WWDR")));
        assertTrue(good.problems("pass.other.type", "OTHERTEAM1", Instant.now()).size() >= 3);
    }

    record Result(int code, String output) {
    }

    Result openssl(String... args) throws IOException, InterruptedException {
        List<String> cmd = new java.util.ArrayList<>(List.of("openssl"));
        cmd.addAll(List.of(args));
        Process p = new ProcessBuilder(cmd).directory(dir.toFile()).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        return new Result(p.waitFor(), out);
    }

}
