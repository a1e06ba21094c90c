package app.sevenstamp.autopilot.protocol.testing;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The test harness itself must work, or every test built on it proves nothing. */
class MosquittoProcessTest {
    @Test
    void brokerListensAndComesBackOnTheSamePort(@TempDir Path dir) throws IOException {
        try (MosquittoProcess broker = MosquittoProcess.start(dir)) {
            assertConnects(broker.port());
            broker.stop(true);
            broker.start();
            assertConnects(broker.port());
        }
    }

    @Test
    void ptyPairCarriesBytesFromFeedToDevice(@TempDir Path dir) throws IOException {
        try (SocatPty pty = SocatPty.start(dir, "scanner")) {
            try (var in = Files.newInputStream(pty.devicePath())) {
                pty.scan("hello");
                byte[] got = in.readNBytes(6);
                assertEquals("hello\r", new String(got, StandardCharsets.US_ASCII));
            }
        }
        assertTrue(Files.notExists(dir.resolve("scanner")), "closing socat removes the device link");
    }

    private static void assertConnects(int port) throws IOException {
        try (Socket s = new Socket()) {
            s.connect(new InetSocketAddress("127.0.0.1", port), 1000);
            assertTrue(s.isConnected());
        }
    }
}
