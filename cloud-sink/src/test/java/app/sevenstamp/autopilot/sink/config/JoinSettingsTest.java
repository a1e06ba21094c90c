package app.sevenstamp.autopilot.sink.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import app.sevenstamp.autopilot.protocol.support.ConfigException;
import app.sevenstamp.autopilot.protocol.support.Settings;
import java.time.Duration;
import java.util.Properties;
import org.junit.jupiter.api.Test;

class JoinSettingsTest {
    private static SinkConfig config(String... kv) {
        Properties p = new Properties();
        p.setProperty("program.coffee.stampsRequired", "10");
        p.setProperty("program.coffee.name", "Coffee card");
        for (int i = 0; i < kv.length; i += 2) {
            p.setProperty(kv[i], kv[i + 1]);
        }
        return SinkConfig.from(new Settings(p, "sink.properties"));
    }

    private static String error(String... kv) {
        return assertThrows(ConfigException.class, () -> config(kv)).getMessage();
    }

    @Test
    void defaultsFitAShopAndAskNothing() {
        JoinSettings j = config().join();
        assertNull(j.publicUrl());
        assertNull(j.joinUrl("coffee"), "no poster without a public URL");
        assertEquals(new JoinSettings.Rate(5, Duration.ofMinutes(1)), j.perAddress());
        assertEquals(new JoinSettings.Rate(300, Duration.ofHours(1)), j.perProgram());
        assertFalse(j.form("coffee").asksAnything());
    }

    @Test
    void thePublicUrlIsValidatedAndItsTrailingSlashDropped() {
        assertEquals("https://stamps.example.com/join/coffee",
                config("web.publicUrl", "https://stamps.example.com/").join().joinUrl("coffee"));
        assertEquals("http://127.0.0.1:8080/shop/join/coffee",
                config("web.publicUrl", "http://127.0.0.1:8080/shop").join().joinUrl("coffee"));
        String allowed = "allowed: https://HOST[:PORT][/PATH] (http:// only for a test), without query, fragment or user info, "
                + "for example web.publicUrl=https://stamps.example.com";
        for (String bad : new String[] {"stamps.example.com", "ftp://stamps.example.com", "https://", "https://a.example/?x=1",
                "https://a.example/#x", "https://user:pw@a.example", "https://a.example/ x", "javascript:alert(1)"}) {
            assertEquals("web.publicUrl: '" + bad + "' is not allowed; " + allowed, error("web.publicUrl", bad), bad);
        }
    }

    @Test
    void ratesAreCountsPerPeriod() {
        JoinSettings j = config("join.perAddress", "0/1m", "join.perProgram", "1000/1d").join();
        assertTrue(j.perAddress().off());
        assertEquals(new JoinSettings.Rate(1000, Duration.ofDays(1)), j.perProgram());
        assertEquals("join.perAddress: '5 per minute' is not allowed; allowed: N/DURATION like 5/1m or 300/1h, N from 0 to "
                + "100000, DURATION from 1s to 1d (s, m, h, d)", error("join.perAddress", "5 per minute"));
        assertEquals("join.perProgram: '0/1h' is not allowed; allowed: N/DURATION like 5/1m or 300/1h, N from 1 to 1000000, "
                + "DURATION from 1s to 1d (s, m, h, d)", error("join.perProgram", "0/1h"));
        assertTrue(error("join.perProgram", "10/2d").startsWith("join.perProgram: '10/2d' is not allowed"));
    }

    @Test
    void aProgramAsksForNameOrEmailOnlyWhenConfigured() {
        JoinSettings j = config("program.coffee.joinAsks", "name, email").join();
        JoinSettings.Form f = j.form("coffee");
        assertTrue(f.askName() && f.askEmail());
        assertTrue(f.consent().startsWith("I agree that Coffee card keeps my name and e-mail address"), f.consent());
        assertEquals("Ok.", config("program.coffee.joinAsks", "email", "program.coffee.joinConsent", "Ok.").join()
                .form("coffee").consent());
        assertFalse(config("program.coffee.joinAsks", "none").join().form("coffee").asksAnything());
        assertEquals("program.coffee.joinAsks: 'phone' is not allowed; allowed: none, name, email or name,email",
                error("program.coffee.joinAsks", "phone"));
        assertEquals("program.coffee.joinAsks: 'none,email' is not allowed; allowed: none, name, email or name,email",
                error("program.coffee.joinAsks", "none,email"));
        assertTrue(error("program.coffee.joinConsent", "a\u0000b").startsWith("program.coffee.joinConsent:"));
    }
}
