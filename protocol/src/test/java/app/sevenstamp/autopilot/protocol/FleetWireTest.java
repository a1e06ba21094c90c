package app.sevenstamp.autopilot.protocol;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import app.sevenstamp.autopilot.protocol.testing.Vectors;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;
import java.time.Instant;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** The fleet-management additions to the wire contract: provisioning, desired config, commands. */
class FleetWireTest {
    private static final String KEY = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8";
    private static final String NONCE = "q7ZJtM2xW9pL4cVb8nR1sA";
    private final WireCodec codec = new WireCodec();
    private final ObjectMapper json = new ObjectMapper();

    @ParameterizedTest
    @CsvSource({
        "provision-request.json, app.sevenstamp.autopilot.protocol.ProvisionRequest",
        "provision-request-signed.json, app.sevenstamp.autopilot.protocol.ProvisionRequest",
        "provision-refused.json, app.sevenstamp.autopilot.protocol.ProvisionResponse",
        "provision-granted.json, app.sevenstamp.autopilot.protocol.ProvisionResponse",
        "provision-grant.json, app.sevenstamp.autopilot.protocol.ProvisionGrant",
        "desired-config.json, app.sevenstamp.autopilot.protocol.DesiredConfig",
        "device-command.json, app.sevenstamp.autopilot.protocol.DeviceCommand",
        "command-ack.json, app.sevenstamp.autopilot.protocol.CommandAck"})
    void everyFleetVectorSurvivesARoundTripUnchanged(String vector, Class<?> type) throws Exception {
        Object decoded = codec.decode(Vectors.bytes(vector), type);
        assertEquals(json.readTree(Vectors.bytes(vector)), json.readTree(codec.encode(decoded)), vector);
    }

    @Test
    void theGrantedVectorOpensWithTheRequestKeyToTheGrantVector() throws Exception {
        ProvisionResponse r = codec.decode(Vectors.bytes("provision-granted.json"), ProvisionResponse.class);
        assertTrue(r.ok());
        byte[] plain = ProvisionSeal.open(KEY, NONCE, r.sealed());
        ProvisionGrant grant = codec.decode(plain, ProvisionGrant.class);
        assertEquals(codec.decode(Vectors.bytes("provision-grant.json"), ProvisionGrant.class), grant);
        assertEquals("shop-12-7f3a9c", grant.deviceId());
        assertEquals("k1:4aLuQ7fNqD3uF3gCL1lGXxQm2a3uQyAdzUw3Fv5l3dQ", grant.config().get("cards.trustedKeys"));
    }

    @Test
    void aSealedGrantDoesNotOpenWithAnotherKeyOrForAnotherNonce() throws Exception {
        ProvisionResponse r = codec.decode(Vectors.bytes("provision-granted.json"), ProvisionResponse.class);
        String otherKey = ProvisionSeal.newKey(new SecureRandom());
        assertThrows(MalformedMessageException.class, () -> ProvisionSeal.open(otherKey, NONCE, r.sealed()));
        assertThrows(MalformedMessageException.class, () -> ProvisionSeal.open(KEY, "AAAAAAAAAAAAAAAAAAAAAA", r.sealed()));
        assertThrows(MalformedMessageException.class, () -> ProvisionSeal.open(KEY, NONCE, "bm90IHNlYWxlZA"));
    }

    /** RFC 8032's first test key; Ed25519 is deterministic, so the vector is reproducible (and `openssl pkeyutl -verify` agrees). */
    private static final byte[] RFC8032_SEED = java.util.HexFormat.of()
            .parseHex("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60");

    @Test
    void theSignedRequestVectorIsTheUnsignedOneSignedWithTheBoxKey() throws Exception {
        ProvisionRequest unsigned = codec.decode(Vectors.bytes("provision-request.json"), ProvisionRequest.class);
        ProvisionRequest signed = codec.decode(Vectors.bytes("provision-request-signed.json"), ProvisionRequest.class);
        assertFalse(unsigned.signatureValid(), "an old gateway's request proves nothing");
        assertTrue(signed.signatureValid());
        assertEquals(signed, unsigned.signedWith(RFC8032_SEED));
        assertEquals("11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo", signed.publicKey(), "RFC 8032 test 1 public key");
    }

    @Test
    void changingAnythingTheSinkActsOnBreaksTheSignature() throws Exception {
        ProvisionRequest s = codec.decode(Vectors.bytes("provision-request-signed.json"), ProvisionRequest.class);
        String otherKey = new ProvisionRequest(1, NONCE, "c", "h", KEY, "v", null, null)
                .signedWith(new byte[32]).publicKey();
        for (ProvisionRequest forged : java.util.List.of(
                new ProvisionRequest(1, "AAAAAAAAAAAAAAAAAAAAAA", s.claimToken(), s.hardwareId(), s.responseKey(), s.version(), s.publicKey(), s.signature()),
                new ProvisionRequest(1, s.nonce(), "clm_other", s.hardwareId(), s.responseKey(), s.version(), s.publicKey(), s.signature()),
                new ProvisionRequest(1, s.nonce(), s.claimToken(), "pi-other", s.responseKey(), s.version(), s.publicKey(), s.signature()),
                new ProvisionRequest(1, s.nonce(), s.claimToken(), s.hardwareId(), ProvisionSeal.newKey(new SecureRandom()), s.version(), s.publicKey(), s.signature()),
                new ProvisionRequest(1, s.nonce(), s.claimToken(), s.hardwareId(), s.responseKey(), "9.9.9", s.publicKey(), s.signature()),
                new ProvisionRequest(1, s.nonce(), s.claimToken(), s.hardwareId(), s.responseKey(), s.version(), otherKey, s.signature()))) {
            assertFalse(forged.signatureValid(), forged.toString());
        }
    }

    @Test
    void aKeyOrSignatureInAnyButItsOneTextIsMalformed() {
        String json = new String(Vectors.bytes("provision-request-signed.json"), StandardCharsets.UTF_8);
        // the last character of a 32-byte key carries 4 unused bits: 'o' and 'p' decode to the same bytes
        for (String bad : new String[] {json.replace("URo\"", "URp\""), json.replace("URo\"", "URo=\""),
                json.replace("BCQ\"", "BCR\""),
                json.replace("BCQ\"", "B\""), json.replaceAll(",\\s*\"signature\": \"[^\"]+\"", "")}) {
            assertThrows(MalformedMessageException.class,
                    () -> codec.decode(bad.getBytes(StandardCharsets.UTF_8), ProvisionRequest.class), bad);
        }
    }

    @Test
    void sealAndOpenRoundTrip() throws Exception {
        SecureRandom random = new SecureRandom();
        String key = ProvisionSeal.newKey(random);
        byte[] plain = "{\"x\":1}".getBytes(StandardCharsets.UTF_8);
        assertArrayEquals(plain, ProvisionSeal.open(key, NONCE, ProvisionSeal.seal(key, NONCE, plain, random)));
    }

    @Test
    void aRefusalCarriesItsReasonAndNoGrant() throws Exception {
        ProvisionResponse r = codec.decode(Vectors.bytes("provision-refused.json"), ProvisionResponse.class);
        assertFalse(r.ok());
        assertNull(r.sealed());
        assertTrue(r.error().contains("expired"));
        assertThrows(IllegalArgumentException.class, () -> new ProvisionResponse(1, NONCE, true, null, null));
        assertThrows(IllegalArgumentException.class, () -> new ProvisionResponse(1, NONCE, false, "x", "y"));
    }

    @Test
    void commandAndConfigVectorsCarryTheirFields() throws Exception {
        DeviceCommand c = codec.decode(Vectors.bytes("device-command.json"), DeviceCommand.class);
        assertEquals("identify", c.command());
        assertNull(c.argument());
        assertEquals(Instant.parse("2026-11-23T07:06:00Z"), c.issuedAt());
        DesiredConfig d = codec.decode(Vectors.bytes("desired-config.json"), DesiredConfig.class);
        assertEquals(4, d.version());
        assertEquals("coffee,tea", d.settings().get("cards.programs"));
        CommandAck a = codec.decode(Vectors.bytes("command-ack.json"), CommandAck.class);
        assertTrue(a.ok());
        assertEquals(c.commandId(), a.commandId());
    }

    @Test
    void provisionAndCommandTopics() {
        Topics t = new Topics("7stamp/v1");
        assertEquals("7stamp/v1/provision/req/" + NONCE, t.provisionRequest(NONCE));
        assertEquals("7stamp/v1/provision/resp/" + NONCE, t.provisionResponse(NONCE));
        assertEquals("7stamp/v1/provision/req/+", t.allProvisionRequests());
        assertEquals("7stamp/v1/gw/a1/cmdack", t.commandAcks("a1"));
        assertEquals("7stamp/v1/gw/+/cmdack", t.allCommandAcks());
        assertEquals(Optional.of(NONCE), t.nonceOf(t.provisionRequest(NONCE)));
        assertEquals(Optional.empty(), t.nonceOf("7stamp/v1/provision/req/short"));
        assertThrows(IllegalArgumentException.class, () -> t.provisionRequest("a/b+#"));
    }

    /**
     * Found by WireCodecFuzzTest: the maps of the contract were Map.copyOf, whose order differs from JVM to JVM
     * and with the insertion order, so one desired config (or rule set, or grant) had many texts, and a decoded
     * one re-encoded differently. They are sorted by key now: one value, one text.
     */
    @Test
    void mapsEncodeInKeyOrderWhateverTheirInsertionOrder() {
        java.util.Map<String, String> forward = new java.util.LinkedHashMap<>();
        java.util.Map<String, String> backward = new java.util.LinkedHashMap<>();
        java.util.Map<String, CounterRules.Limits> limits = new java.util.LinkedHashMap<>();
        java.util.List<String> keys = new java.util.ArrayList<>();
        for (int i = 0; i < 20; i++) {
            keys.add("k" + (char) ('a' + i));
        }
        String sorted = String.join(",", keys);
        keys.forEach(k -> forward.put(k, "v"));
        java.util.Collections.reverse(keys);
        keys.forEach(k -> backward.put(k, "v"));
        keys.forEach(k -> limits.put(k, new CounterRules.Limits(0, 0, "UTC")));

        byte[] a = codec.encode(new DesiredConfig(1, "box-1", 1, forward));
        assertArrayEquals(a, codec.encode(new DesiredConfig(1, "box-1", 1, backward)));
        assertEquals(sorted, fieldNames(a, "settings"));
        assertEquals(sorted, fieldNames(codec.encode(new ProvisionGrant(1, "box-1", "shop", "u", "p", 1, backward)), "config"));
        assertEquals(sorted, fieldNames(codec.encode(new CounterRules(1, 1, limits)), "programs"));
        assertThrows(NullPointerException.class, () -> new DesiredConfig(1, "box-1", 1,
                java.util.Collections.singletonMap("k", null)));
    }

    private String fieldNames(byte[] encoded, String field) {
        try {
            java.util.List<String> names = new java.util.ArrayList<>();
            json.readTree(encoded).get(field).fieldNames().forEachRemaining(names::add);
            return String.join(",", names);
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }
}
