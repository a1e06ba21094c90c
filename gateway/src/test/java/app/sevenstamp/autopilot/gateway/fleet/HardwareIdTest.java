package app.sevenstamp.autopilot.gateway.fleet;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class HardwareIdTest {
    @TempDir
    Path dir;

    @Test
    void thePiSerialFromCpuinfoComesFirst() throws Exception {
        Path cpuinfo = Files.writeString(dir.resolve("cpuinfo"), "processor\t: 0\nHardware\t: BCM2835\nSerial\t\t: 10000000A1B2C3D4\nModel\t: Raspberry Pi 4\n");
        Path machine = Files.writeString(dir.resolve("machine-id"), "0123456789abcdef0123456789abcdef\n");
        assertEquals("pi-10000000a1b2c3d4", HardwareId.read(cpuinfo, dir.resolve("none"), machine));
    }

    @Test
    void thenTheDeviceTreeSerialThenTheMachineId() throws Exception {
        Path cpuinfo = Files.writeString(dir.resolve("cpuinfo"), "processor\t: 0\nSerial\t\t: 0000000000000000\n");
        Path dt = Files.writeString(dir.resolve("serial-number"), "10000000cafe0001\0");
        Path machine = Files.writeString(dir.resolve("machine-id"), "0123456789abcdef0123456789abcdef\n");
        assertEquals("pi-10000000cafe0001", HardwareId.read(cpuinfo, dt, machine));
        assertEquals("machine-0123456789abcdef0123456789abcdef", HardwareId.read(cpuinfo, dir.resolve("none"), machine));
    }

    @Test
    void noIdentityAtAllIsAClearError() {
        IllegalStateException e = assertThrows(IllegalStateException.class,
                () -> HardwareId.read(dir.resolve("a"), dir.resolve("b"), dir.resolve("c")));
        assertTrue(e.getMessage().contains("provision.hardwareId"), e.getMessage());
    }
}
