package app.sevenstamp.autopilot.gateway.check;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

import app.sevenstamp.autopilot.gateway.config.MqttSettings;
import app.sevenstamp.autopilot.protocol.support.MqttTls;
import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** The broker check against brokers that misbehave: a socket that accepts and never answers must not hang it. */
class BrokerCheckTest {
    private ServerSocket silent;
    private final List<Socket> accepted = new ArrayList<>();

    @AfterEach
    void close() throws IOException {
        for (Socket s : accepted) {
            s.close();
        }
        if (silent != null) {
            silent.close();
        }
    }

    /** Accepts connections and never writes a byte: neither a CONNACK nor a TLS ServerHello. */
    private int silentServer() throws IOException {
        silent = new ServerSocket(0, 10, InetAddress.getLoopbackAddress());
        Thread t = new Thread(() -> {
            try {
                while (true) {
                    Socket s = silent.accept();
                    synchronized (accepted) {
                        accepted.add(s);
                    }
                }
            } catch (IOException e) {
                // closed by the test
            }
        }, "silent-broker");
        t.setDaemon(true);
        t.start();
        return silent.getLocalPort();
    }

    private static MqttSettings mqtt(String url) {
        return new MqttSettings(url, "7stamp/v1", "counter-1", "u", "p", Duration.ofSeconds(30), Duration.ofSeconds(10), 10,
                Duration.ofSeconds(1), Duration.ofSeconds(60), MqttTls.NONE);
    }

    @Test
    void aSilentBrokerEndsTheCheckWithAFailNotAHang() throws IOException {
        int port = silentServer();
        List<CheckLine> lines = assertTimeoutPreemptively(Duration.ofSeconds(60),
                () -> new BrokerCheck(mqtt("tcp://127.0.0.1:" + port), Duration.ofSeconds(1)).run());
        assertEquals("OK   broker: 127.0.0.1:" + port + " reachable (tcp://127.0.0.1:" + port + ")", lines.get(0).toString());
        CheckLine login = lines.get(lines.size() - 1);
        assertEquals(CheckLine.Status.FAIL, login.status(), lines.toString());
        assertTrue(login.toString().startsWith("FAIL broker login: no MQTT answer as user 'u': "), login.toString());
    }

    @Test
    void aSilentTlsBrokerEndsTheCheckWithAFailNotAHang() throws IOException {
        int port = silentServer();
        List<CheckLine> lines = assertTimeoutPreemptively(Duration.ofSeconds(60),
                () -> new BrokerCheck(mqtt("ssl://127.0.0.1:" + port), Duration.ofSeconds(1)).run());
        assertEquals(CheckLine.Status.FAIL, lines.get(lines.size() - 1).status(), lines.toString());
        assertTrue(lines.get(lines.size() - 1).toString().startsWith("FAIL broker tls: no TLS handshake within "),
                lines.toString());
        assertEquals(2, lines.size(), "no login line without a handshake: " + lines);
    }

    @Test
    void aHostThatDoesNotResolveIsUnreachable() {
        List<CheckLine> lines = new BrokerCheck(mqtt("tcp://no-such-host.invalid:1883"), Duration.ofSeconds(1)).run();
        assertEquals(1, lines.size());
        assertTrue(lines.get(0).toString().startsWith("FAIL broker: cannot reach no-such-host.invalid:1883 "), lines.toString());
    }
}
