package app.sevenstamp.autopilot.protocol;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import app.sevenstamp.autopilot.protocol.support.Ed25519;
import java.nio.charset.StandardCharsets;
import java.security.PublicKey;
import java.security.SecureRandom;
import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** The update additions to the wire contract: the signed manifest, the report in the status, Debian version order. */
class UpdateWireTest {
    private static final String SHA = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";
    private final WireCodec codec = new WireCodec();
    private final byte[] seed = Ed25519.newSeed(new SecureRandom());
    private final PublicKey key = Ed25519.publicKey(Ed25519.publicKeyOf(seed));

    private UpdateManifest manifest() {
        return new UpdateManifest(WireCodec.SCHEMA, "shop-1-7f3a9c", "0.2.0", "https://updates.example/gw_0.2.0_all.deb", SHA,
                12_345, null);
    }

    @Test
    void aSignedManifestSurvivesTheWireAndVerifies() throws Exception {
        UpdateManifest signed = manifest().signedWith(seed);
        UpdateManifest back = codec.decode(codec.encode(signed), UpdateManifest.class);
        assertEquals(signed, back);
        assertTrue(back.signedBy(key));
    }

    @Test
    void everySignedFieldIsCoveredByTheSignature() {
        UpdateManifest s = manifest().signedWith(seed);
        for (UpdateManifest changed : List.of(
                new UpdateManifest(1, "shop-1-other", s.version(), s.url(), s.sha256(), s.size(), s.signature()),
                new UpdateManifest(1, s.deviceId(), "0.2.1", s.url(), s.sha256(), s.size(), s.signature()),
                new UpdateManifest(1, s.deviceId(), s.version(), s.url() + "x", s.sha256(), s.size(), s.signature()),
                new UpdateManifest(1, s.deviceId(), s.version(), s.url(), SHA.replace('9', '8'), s.size(), s.signature()),
                new UpdateManifest(1, s.deviceId(), s.version(), s.url(), s.sha256(), s.size() + 1, s.signature()))) {
            assertFalse(changed.signedBy(key), changed.toString());
        }
        assertFalse(manifest().signedBy(key), "unsigned");
        byte[] other = Ed25519.newSeed(new SecureRandom());
        assertFalse(manifest().signedWith(other).signedBy(key), "signed by another key");
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
        "{\"schema\":1,\"deviceId\":\"a\",\"version\":\"0.2\",\"url\":\"https://x/y.deb\",\"sha256\":\"ab\",\"size\":1} | sha256 must be 64 lower-case hex digits",
        "{\"schema\":1,\"deviceId\":\"a\",\"version\":\"x0.2\",\"url\":\"https://x/y.deb\",\"sha256\":\"" + SHA + "\",\"size\":1} | is not a Debian version",
        "{\"schema\":1,\"deviceId\":\"a\",\"version\":\"0.2\",\"url\":\"file:///etc/shadow\",\"sha256\":\"" + SHA + "\",\"size\":1} | url must be an http(s) URL",
        "{\"schema\":1,\"deviceId\":\"a\",\"version\":\"0.2\",\"url\":\"https://x/y.deb\",\"sha256\":\"" + SHA + "\",\"size\":0} | size must be > 0",
        "{\"schema\":1,\"deviceId\":\"a/b\",\"version\":\"0.2\",\"url\":\"https://x/y.deb\",\"sha256\":\"" + SHA + "\",\"size\":1} | device id 'a/b' must match",
        "{\"schema\":1,\"deviceId\":\"a\",\"version\":\"0.2\",\"url\":\"https://x/y.deb\",\"sha256\":\"" + SHA + "\",\"size\":1,\"signature\":\"AAAA\"} | signature must be the unpadded base64url of 64 bytes",
        "{\"schema\":1,\"version\":\"0.2\",\"url\":\"https://x/y.deb\",\"sha256\":\"" + SHA + "\",\"size\":1} | deviceId",
        "{\"schema\":1,\"deviceId\":\"a\",\"version\":\"0.2\",\"url\":\"https://x/y.deb\",\"sha256\":\"" + SHA + "\"} | size"})
    void aMalformedManifestIsRefusedWithItsReason(String json, String reason) {
        MalformedMessageException e = assertThrows(MalformedMessageException.class,
                () -> codec.decode(json.getBytes(StandardCharsets.UTF_8), UpdateManifest.class));
        assertTrue(e.getMessage().contains(reason), e.getMessage());
    }

    @Test
    void theStatusCarriesTheUpdateReportAndOlderStatusesHaveNone() throws Exception {
        DeviceStatus s = new DeviceStatus(1, "box-1", true, Instant.parse("2026-12-03T22:00:00Z"), "0.2.0", 3, 10, 0, 0, "ready",
                100, Double.NaN, "ok", 1L, 0, 0L, new UpdateReport("0.2.0", "rolled-back", "not healthy within 120 s"));
        DeviceStatus back = codec.decodeStatus(codec.encode(s));
        assertEquals(s.update(), back.update());
        assertNull(codec.decodeStatus(codec.encode(new DeviceStatus(1, "box-1", false, null, "0.1", 0, 0, 0, 0, null, -1,
                Double.NaN))).update());
        MalformedMessageException e = assertThrows(MalformedMessageException.class, () -> codec.decodeStatus(
                "{\"schema\":1,\"deviceId\":\"b\",\"online\":true,\"version\":\"1\",\"configVersion\":0,\"uptimeSeconds\":0,\"backlog\":0,\"oldestUnsentAgeSeconds\":0,\"diskFreeBytes\":0,\"cpuTemperatureC\":0,\"update\":{\"version\":\"1\",\"state\":\"exploded\"}}"
                        .getBytes(StandardCharsets.UTF_8)));
        assertTrue(e.getMessage().contains("state 'exploded' is not one of"), e.getMessage());
    }

    /** The same answers as {@code dpkg --compare-versions} (deb-version(7)'s examples and the ~ rule). */
    @ParameterizedTest
    @CsvSource({
        "0.1.0, 0.2.0, -1", "0.2.0, 0.1.0, 1", "0.2.0, 0.2.0, 0", "0.1.0~snapshot, 0.1.0, -1", "0.1.0~snapshot, 0.1.0~snapshot+u2, -1",
        "0.1.0~snapshot+u2, 0.1.0~snapshot+u3, -1", "1:0.1, 2.0, 1", "1.0-1, 1.0-2, -1", "1.0, 1.0-0, 0", "1.10, 1.9, 1",
        "1.0a, 1.0, 1", "1.0~rc1, 1.0, -1", "1.0~~, 1.0~, -1", "1.0+b1, 1.0, 1", "1.0.0, 1.0, 1", "007, 7, 0"})
    void debianVersionOrder(String a, String b, int expected) {
        assertEquals(expected, Integer.signum(DebVersion.compare(a, b)), a + " vs " + b);
        assertEquals(-expected, Integer.signum(DebVersion.compare(b, a)), b + " vs " + a);
    }
}
