package app.sevenstamp.autopilot.gateway.scan;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class DevicePathTest {
    @TempDir
    Path dir;

    @Test
    void aGlobIsResolvedAgainAtEachCall() throws IOException {
        DevicePath path = DevicePath.of(dir.resolve("*Honeywell*").toString());
        assertTrue(path.isGlob());
        assertEquals(Optional.empty(), path.resolve());
        Path first = Files.createFile(dir.resolve("usb-Honeywell_Imaging-if00"));
        Files.createFile(dir.resolve("usb-Zebra-if00"));
        assertEquals(Optional.of(first), path.resolve());
        Files.delete(first);
        assertEquals(Optional.empty(), path.resolve(), "unplugged");
        Path again = Files.createFile(dir.resolve("usb-Honeywell_Imaging_2-if00"));
        assertEquals(Optional.of(again), path.resolve(), "back under another name");
    }

    @Test
    void aPlainPathResolvesToItselfEvenWhenMissing() {
        DevicePath path = DevicePath.of(dir.resolve("ttyACM0").toString());
        assertFalse(path.isGlob());
        assertEquals(Optional.of(dir.resolve("ttyACM0")), path.resolve());
        assertEquals(List.of(), path.matches());
    }

    @Test
    void aGlobOutsideTheLastPartIsRefused() {
        assertEquals("a glob (*, ?, [...], {...}) is allowed only in the last part of the path",
                assertThrows(IllegalArgumentException.class, () -> DevicePath.of("/dev/*/by-id/x")).getMessage());
    }
}
