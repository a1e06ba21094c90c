package app.sevenstamp.autopilot.sink.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import app.sevenstamp.autopilot.protocol.support.ConfigException;
import app.sevenstamp.autopilot.protocol.support.Settings;
import java.net.URI;
import java.nio.file.Path;
import java.util.List;
import java.util.Properties;
import org.junit.jupiter.api.Test;

class GoogleWalletSettingsTest {
    private static SinkConfig config(String... kv) {
        Properties p = new Properties();
        p.setProperty("program.coffee.stampsRequired", "10");
        for (int i = 0; i < kv.length; i += 2) {
            p.setProperty(kv[i], kv[i + 1]);
        }
        return SinkConfig.from(new Settings(p, "sink.properties"));
    }

    private static String error(String... kv) {
        return assertThrows(ConfigException.class, () -> config(kv)).getMessage();
    }

    private static final String[] ON = {"google.issuerId", "3388000000012345678", "google.serviceAccountFile", "/etc/7stamp/google.json",
        "google.issuerName", "Corner Café", "google.logoUrl", "https://cards.example.com/logo.png"};

    private static String[] on(String... more) {
        String[] all = new String[ON.length + more.length];
        System.arraycopy(ON, 0, all, 0, ON.length);
        System.arraycopy(more, 0, all, ON.length, more.length);
        return all;
    }

    @Test
    void offUnlessAnIssuerIsSet() {
        GoogleWalletSettings g = config().google();
        assertFalse(g.enabled());
        assertNull(g.issuerId());
    }

    @Test
    void theFourRequiredKeysTurnItOnWithGooglesDefaults() {
        GoogleWalletSettings g = config(on()).google();
        assertTrue(g.enabled());
        assertEquals("3388000000012345678", g.issuerId());
        assertEquals(Path.of("/etc/7stamp/google.json"), g.serviceAccountFile());
        assertEquals("Corner Café", g.issuerName());
        assertEquals(URI.create("https://walletobjects.googleapis.com"), g.apiUrl());
        assertNull(g.tokenUrl(), "the key file's token_uri");
        assertEquals(List.of(), g.origins());
    }

    @Test
    void testsPointItAtLocalServers() {
        GoogleWalletSettings g = config(on("google.apiUrl", "http://127.0.0.1:9000/", "google.tokenUrl", "http://127.0.0.1:9000/token",
                "google.origins", "https://cards.example.com, http://localhost:8080")).google();
        assertEquals(URI.create("http://127.0.0.1:9000"), g.apiUrl());
        assertEquals(URI.create("http://127.0.0.1:9000/token"), g.tokenUrl());
        assertEquals(List.of("https://cards.example.com", "http://localhost:8080"), g.origins());
    }

    @Test
    void errorsNameTheKeyAndWhatIsMissing() {
        assertEquals("google.serviceAccountFile: missing; google.issuerId is set, and Google Wallet needs the service account's JSON key file",
                error("google.issuerId", "3388000000012345678"));
        assertEquals("google.logoUrl: missing; google.issuerId is set, and Google Wallet needs an https:// URL of the program logo, "
                + "which Google requires on every loyalty class",
                error("google.issuerId", "1", "google.serviceAccountFile", "/k.json", "google.issuerName", "Shop"));
        assertEquals("google.issuerId: missing; other google.* keys are set, and Google Wallet needs the issuer id of the Google Pay "
                + "& Wallet Console (digits); set it, or remove the google.* keys", error("google.serviceAccountFile", "/k.json"));
        assertEquals("google.issuerId: 'BCDX' is not allowed; allowed: the issuer id of the Google Pay & Wallet Console, 1 to 25 digits",
                error("google.issuerId", "BCDX"));
        assertTrue(error(on("google.logoUrl", "http://insecure/logo.png")).startsWith("google.logoUrl: 'http://insecure/logo.png'"));
        assertTrue(error(on("google.origins", "https://cards.example.com/join")).startsWith("google.origins: 'https://cards.example.com/join'"));
        assertTrue(error(on("google.issuerNmae", "x")).contains("unknown key google.issuerNmae"));
    }
}
