package app.sevenstamp.autopilot.gateway.fleet;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import app.sevenstamp.autopilot.protocol.support.Ed25519;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.SecureRandom;
import java.util.Base64;
import java.util.Properties;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class DeviceKeyTest {
    @TempDir
    Path dir;

    @Test
    void theKeyIsMadeOnceStoredPrivatelyAndReadBackOnEveryStart() throws Exception {
        Path state = dir.resolve("state");
        byte[] seed = DeviceKey.loadOrCreate(state, new SecureRandom());
        Path file = state.resolve(StateFiles.DEVICE_KEY);
        assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(file)));
        assertArrayEquals(seed, DeviceKey.loadOrCreate(state, new SecureRandom()), "the same key at the next start");
        Properties p = StateFiles.read(state, StateFiles.DEVICE_KEY).orElseThrow();
        assertEquals(Base64.getUrlEncoder().withoutPadding().encodeToString(Ed25519.publicKeyOf(seed)),
                p.getProperty(DeviceKey.PUBLIC));
        assertTrue(Files.notExists(state.resolve(StateFiles.DEVICE_KEY + ".tmp")));
    }

    @Test
    void aFileThatDoesNotHoldAMatchingPairStopsTheStartWithWhatToDo() throws Exception {
        Path state = dir.resolve("state");
        DeviceKey.loadOrCreate(state, new SecureRandom());
        Properties p = StateFiles.read(state, StateFiles.DEVICE_KEY).orElseThrow();
        p.setProperty(DeviceKey.PUBLIC, Base64.getUrlEncoder().withoutPadding().encodeToString(new byte[32]));
        StateFiles.write(state, StateFiles.DEVICE_KEY, p);
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> DeviceKey.loadOrCreate(state, new SecureRandom()));
        assertTrue(e.getMessage().startsWith(state.resolve(StateFiles.DEVICE_KEY) + " does not hold this box's key pair"), e.getMessage());
        assertTrue(e.getMessage().contains("devices approve ID"), e.getMessage());
        p.setProperty(DeviceKey.PRIVATE, "not base64!");
        StateFiles.write(state, StateFiles.DEVICE_KEY, p);
        assertThrows(IllegalStateException.class, () -> DeviceKey.loadOrCreate(state, new SecureRandom()));
    }
}
