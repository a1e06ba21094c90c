package app.sevenstamp.autopilot.gateway.feedback;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.Optional;
import org.junit.jupiter.api.Test;

/** Device-tree model strings as the boards give them, and ones that must not match. */
class BoardTest {
    @Test
    void modelsMapToTheirBoards() {
        assertEquals(Optional.of(Board.PI_5), Board.of("Raspberry Pi 5 Model B Rev 1.0"));
        assertEquals(Optional.of(Board.PI_5), Board.of("Raspberry Pi 500 Rev 1.0"));
        assertEquals(Optional.of(Board.PI_5), Board.of("Raspberry Pi Compute Module 5 Rev 1.0"));
        assertEquals(Optional.of(Board.PI_4), Board.of("Raspberry Pi 4 Model B Rev 1.5"));
        assertEquals(Optional.of(Board.PI_4), Board.of("Raspberry Pi 400 Rev 1.0"));
        assertEquals(Optional.of(Board.PI_4), Board.of("Raspberry Pi Compute Module 4S Rev 1.0"));
        assertEquals(Optional.of(Board.PI_3), Board.of("Raspberry Pi 3 Model B Plus Rev 1.3"));
        assertEquals(Optional.of(Board.PI_3), Board.of("Raspberry Pi Zero 2 W Rev 1.0"));
    }

    @Test
    void olderAndOtherBoardsAreNotGuessed() {
        assertEquals(Optional.empty(), Board.of("Raspberry Pi Zero W Rev 1.1"), "BCM2835, ARMv6: no Java 17 package");
        assertEquals(Optional.empty(), Board.of("Raspberry Pi 2 Model B Rev 1.1"));
        assertEquals(Optional.empty(), Board.of("Raspberry Pi Model B Plus Rev 1.2"));
        assertEquals(Optional.empty(), Board.of("Radxa ROCK 5B"));
        assertEquals(Optional.empty(), Board.of("unknown"));
    }

    @org.junit.jupiter.api.io.TempDir
    java.nio.file.Path root;

    @Test
    void theModelFileIsReadWithoutItsNulOrNewline() throws Exception {
        java.nio.file.Files.createDirectories(root.resolve("proc/device-tree"));
        java.nio.file.Files.writeString(root.resolve("proc/device-tree/model"), "Raspberry Pi 4 Model B Rev 1.4\n\0");
        GpioHost host = new FakeBoard(root).host();
        assertEquals("Raspberry Pi 4 Model B Rev 1.4", host.model());
        assertEquals(Optional.of(Board.PI_4), host.board());
    }
}
