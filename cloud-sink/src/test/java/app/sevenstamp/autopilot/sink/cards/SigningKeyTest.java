package app.sevenstamp.autopilot.sink.cards;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;

import app.sevenstamp.autopilot.protocol.card.CardCheck;
import app.sevenstamp.autopilot.protocol.support.ConfigException;
import app.sevenstamp.autopilot.protocol.testing.Vectors;
import app.sevenstamp.autopilot.sink.loyalty.Program;
import app.sevenstamp.autopilot.sink.loyalty.RewardPlan;
import app.sevenstamp.autopilot.sink.loyalty.StampRules;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.SecureRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SigningKeyTest {
    @TempDir
    Path dir;

    @Test
    void theKeyFileIsCreatedOwnerOnlyAndReadBackUnchanged() throws Exception {
        Path file = dir.resolve("nested/signing.key");
        SigningKey first = SigningKey.loadOrCreate(file, "k1");
        assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(file)));
        byte[] written = Files.readAllBytes(file);

        SigningKey second = SigningKey.loadOrCreate(file, "k1");
        assertEquals(first.trustedKeyLine(), second.trustedKeyLine());
        assertArrayEquals(written, Files.readAllBytes(file), "an existing key file is never rewritten");
        try (var files = Files.list(file.getParent())) {
            assertEquals(1, files.count(), "no temporary file is left behind");
        }
    }

    @Test
    void codesSignedWithTheKeyVerifyWithItsTrustedLine() {
        SigningKey key = SigningKey.loadOrCreate(dir.resolve("signing.key"), "k7");
        String code = new CardIssuer(key.signer(), new SecureRandom()).issue(
                new Program("coffee", "Coffee", 10, StampRules.NONE, RewardPlan.SIMPLE));
        assertInstanceOf(CardCheck.Valid.class,
                app.sevenstamp.autopilot.protocol.card.CardVerifier.parse(java.util.List.of(key.trustedKeyLine())).verify(code));
        assertInstanceOf(CardCheck.Valid.class, key.verifier().verify(code));
    }

    @Test
    void aKeyFileWrittenByHandWithTheVectorSeedIsTheVectorKey() throws Exception {
        Path file = dir.resolve("signing.key");
        Files.writeString(file, "keyId=k1\nseed=" + Vectors.json("card-codes.json").get("seed").asText() + "\n",
                StandardCharsets.UTF_8);
        SigningKey key = SigningKey.loadOrCreate(file, "k1");
        assertEquals(Vectors.trustedKey(), key.trustedKeyLine());
        assertEquals(Vectors.cardText("valid"), key.signer().sign("coffee", "ABCDEFGHJKMNPQRS"));
    }

    @Test
    void aKeyIdOtherThanTheConfiguredOneIsAConfigError() {
        Path file = dir.resolve("signing.key");
        SigningKey.loadOrCreate(file, "k1");
        ConfigException e = assertThrows(ConfigException.class, () -> SigningKey.loadOrCreate(file, "k2"));
        assertEquals("keys.id: 'k2' does not match key id 'k1' in " + file
                + "; set keys.id=k1, or point keys.file at another file to start a new key", e.getMessage());
    }

    @Test
    void aFileThatIsNotAKeyFileIsNamed() throws Exception {
        Path file = dir.resolve("signing.key");
        Files.writeString(file, "keyId=k1\nseed=too-short\n", StandardCharsets.UTF_8);
        ConfigException e = assertThrows(ConfigException.class, () -> SigningKey.loadOrCreate(file, "k1"));
        assertEquals("keys.file: " + file + " is not a signing key file: seed must be 32 bytes in base64url", e.getMessage());

        Files.writeString(file, "hello\n", StandardCharsets.UTF_8);
        e = assertThrows(ConfigException.class, () -> SigningKey.loadOrCreate(file, "k1"));
        assertEquals("keys.file: " + file + " is not a signing key file: keyId '' must match [A-Za-z0-9]{1,8}", e.getMessage());
    }
}
