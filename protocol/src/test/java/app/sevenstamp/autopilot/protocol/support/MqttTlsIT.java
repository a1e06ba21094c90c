package app.sevenstamp.autopilot.protocol.support;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import app.sevenstamp.autopilot.protocol.testing.MosquittoProcess;
import app.sevenstamp.autopilot.protocol.testing.TestPki;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Properties;
import javax.net.ssl.SSLException;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLSocket;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@link MqttTls} against a real Mosquitto TLS listener with certificates made by openssl: the
 * handshake with the right CA and a client certificate (RSA and EC), the worded failure with a wrong
 * CA, hostname verification, and the start-time checks that name the key.
 */
class MqttTlsIT {
    @TempDir
    static Path dir;

    static TestPki pki;
    static TestPki other;
    static TestPki.Issued broker;

    @BeforeAll
    static void certificates() {
        pki = TestPki.createCa(dir, "Test Broker CA");
        other = TestPki.createCa(dir, "Some Other CA");
        broker = pki.server("broker", "DNS:localhost,IP:127.0.0.1");
    }

    private static MqttTls tls(String url, String... keyValues) {
        Properties p = new Properties();
        for (int i = 0; i < keyValues.length; i += 2) {
            p.setProperty(keyValues[i], keyValues[i + 1]);
        }
        Settings s = new Settings(p, "test.properties");
        MqttTls tls = MqttTls.from(s, "mqtt.tls.", "mqtt.url", url);
        s.rejectUnknownKeys();
        return tls;
    }

    /** A TLS handshake plus an MQTT CONNECT; returns the CONNACK's return code (0 accepted). */
    private static int connect(MqttTls tls, String url, String host) throws IOException {
        int port = Integer.parseInt(url.substring(url.lastIndexOf(':') + 1));
        try (SSLSocket socket = (SSLSocket) tls.socketFactory(url).createSocket(host, port)) {
            SSLParameters params = socket.getSSLParameters();
            params.setEndpointIdentificationAlgorithm("HTTPS"); // what Paho sets with hostname verification on
            socket.setSSLParameters(params);
            socket.setSoTimeout(10_000);
            socket.startHandshake();
            assertTrue(socket.getTcpNoDelay(), "TLS sockets keep TCP_NODELAY");
            OutputStream out = socket.getOutputStream();
            // CONNECT, MQTT 3.1.1, clean session, keep-alive 10 s, client id "t"
            out.write(new byte[] {0x10, 13, 0, 4, 'M', 'Q', 'T', 'T', 4, 2, 0, 10, 0, 1, 't'});
            out.flush();
            InputStream in = socket.getInputStream();
            byte[] connack = in.readNBytes(4);
            assertEquals(4, connack.length, "a CONNACK");
            return connack[3];
        }
    }

    @Test
    void clientWithRsaOrEcCertificateConnectsToABrokerThatRequiresOne() throws IOException {
        try (MosquittoProcess mosquitto = MosquittoProcess.start(dir.resolve("mtls"),
                MosquittoProcess.tlsConfig(pki.ca(), broker.cert(), broker.key(), true))) {
            for (String type : new String[] {"rsa", "ec"}) {
                TestPki.Issued client = pki.client("client-" + type, type);
                MqttTls tls = tls(mosquitto.sslUrl(), "mqtt.tls.ca", pki.ca().toString(),
                        "mqtt.tls.cert", client.cert().toString(), "mqtt.tls.key", client.key().toString());
                assertEquals(0, connect(tls, mosquitto.sslUrl(), "localhost"), type + " client certificate accepted");
            }
            // without a client certificate the broker ends the handshake
            MqttTls caOnly = tls(mosquitto.sslUrl(), "mqtt.tls.ca", pki.ca().toString());
            assertThrows(IOException.class, () -> connect(caOnly, mosquitto.sslUrl(), "localhost"));
        }
    }

    @Test
    void wrongCaFailsWithAMessageThatNamesTheKeyAndBothCas() {
        try (MosquittoProcess mosquitto = MosquittoProcess.start(dir.resolve("wrong-ca"),
                MosquittoProcess.tlsConfig(pki.ca(), broker.cert(), broker.key(), false))) {
            MqttTls wrong = tls(mosquitto.sslUrl(), "mqtt.tls.ca", other.ca().toString());
            SSLException e = assertThrows(SSLException.class, () -> connect(wrong, mosquitto.sslUrl(), "localhost"));
            String message = MqttTls.explain(e);
            assertEquals("mqtt.tls.ca: the broker's certificate (CN=broker, issued by CN=Test Broker CA) is not signed by "
                    + "the CA in " + other.ca() + " (CN=Some Other CA); set mqtt.tls.ca to the CA that signed the "
                    + "broker's certificate", message);
        }
    }

    @Test
    void hostNameMustBeInTheBrokerCertificate() throws IOException {
        TestPki.Issued elsewhere = pki.server("elsewhere", "DNS:broker.example.com");
        try (MosquittoProcess mosquitto = MosquittoProcess.start(dir.resolve("hostname"),
                MosquittoProcess.tlsConfig(pki.ca(), elsewhere.cert(), elsewhere.key(), false))) {
            MqttTls tls = tls(mosquitto.sslUrl(), "mqtt.tls.ca", pki.ca().toString());
            SSLException e = assertThrows(SSLException.class, () -> connect(tls, mosquitto.sslUrl(), "localhost"));
            assertEquals(null, MqttTls.explain(e), "a host name mismatch is not reported as a wrong CA");
            assertTrue(e.getMessage().contains("localhost"), e.getMessage());
        }
        try (MosquittoProcess mosquitto = MosquittoProcess.start(dir.resolve("hostname-ok"),
                MosquittoProcess.tlsConfig(pki.ca(), broker.cert(), broker.key(), false))) {
            MqttTls tls = tls(mosquitto.sslUrl(), "mqtt.tls.ca", pki.ca().toString());
            assertEquals(0, connect(tls, mosquitto.sslUrl(), "localhost"));
        }
    }

    @Test
    void noKeysMeansNone() {
        assertSame(MqttTls.NONE, tls("ssl://broker.example.com:8883"));
        assertSame(MqttTls.NONE, tls("tcp://127.0.0.1:1883"));
    }

    @Test
    void startChecksNameTheKey() throws IOException {
        String ssl = "ssl://localhost:8883";
        ConfigException missing = assertThrows(ConfigException.class,
                () -> tls(ssl, "mqtt.tls.ca", dir.resolve("nope.pem").toString()));
        assertEquals("mqtt.tls.ca: '" + dir.resolve("nope.pem") + "' does not exist", missing.getMessage());

        ConfigException plain = assertThrows(ConfigException.class,
                () -> tls("tcp://127.0.0.1:1883", "mqtt.tls.ca", pki.ca().toString()));
        assertTrue(plain.getMessage().startsWith("mqtt.tls.ca: set, but mqtt.url 'tcp://127.0.0.1:1883' is not a TLS URL"),
                plain.getMessage());

        Path notPem = Files.writeString(dir.resolve("not.pem"), "hello");
        ConfigException garbage = assertThrows(ConfigException.class, () -> tls(ssl, "mqtt.tls.ca", notPem.toString()));
        assertTrue(garbage.getMessage().startsWith("mqtt.tls.ca: '" + notPem + "' "), garbage.getMessage());

        TestPki.Issued client = pki.client("client-check", "rsa");
        ConfigException noKey = assertThrows(ConfigException.class,
                () -> tls(ssl, "mqtt.tls.ca", pki.ca().toString(), "mqtt.tls.cert", client.cert().toString()));
        assertTrue(noKey.getMessage().startsWith("mqtt.tls.key: missing"), noKey.getMessage());

        TestPki.Issued another = pki.client("client-other", "ec");
        ConfigException mismatch = assertThrows(ConfigException.class, () -> tls(ssl, "mqtt.tls.ca", pki.ca().toString(),
                "mqtt.tls.cert", client.cert().toString(), "mqtt.tls.key", another.key().toString()));
        assertEquals("mqtt.tls.key: the key does not belong to the certificate in mqtt.tls.cert (CN=client-check)",
                mismatch.getMessage());

        Path pkcs1 = dir.resolve("pkcs1.key");
        Files.writeString(pkcs1, "-----BEGIN RSA PRIVATE KEY-----\nAAAA\n-----END RSA PRIVATE KEY-----\n");
        ConfigException oldFormat = assertThrows(ConfigException.class, () -> tls(ssl, "mqtt.tls.ca", pki.ca().toString(),
                "mqtt.tls.cert", client.cert().toString(), "mqtt.tls.key", pkcs1.toString()));
        assertTrue(oldFormat.getMessage().contains("openssl pkcs8 -topk8 -nocrypt"), oldFormat.getMessage());
    }
}
