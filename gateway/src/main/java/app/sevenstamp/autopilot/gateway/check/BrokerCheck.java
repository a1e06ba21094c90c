package app.sevenstamp.autopilot.gateway.check;

import app.sevenstamp.autopilot.gateway.config.MqttSettings;
import app.sevenstamp.autopilot.protocol.support.MqttTls;
import app.sevenstamp.autopilot.protocol.support.PahoLog;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.URI;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.net.SocketTimeoutException;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLSocket;
import org.eclipse.paho.client.mqttv3.MqttClient;
import org.eclipse.paho.client.mqttv3.MqttConnectOptions;
import org.eclipse.paho.client.mqttv3.MqttException;
import org.eclipse.paho.client.mqttv3.persist.MemoryPersistence;

/**
 * The broker in three steps, each its own line: a TCP connection to the host and port (reachable), a TLS
 * handshake of its own with the configured CA and client certificate (valid), and an MQTT CONNECT with the
 * configured user name and password (accepted), each bounded by the timeout. It connects as {@code <mqtt.clientId>-check} with a clean session: the
 * gateway's own client id would take over the running gateway's session.
 */
final class BrokerCheck implements Check {
    private final MqttSettings mqtt;
    private final Duration timeout;

    BrokerCheck(MqttSettings mqtt, Duration timeout) {
        this.mqtt = mqtt;
        this.timeout = timeout;
    }

    @Override
    public List<CheckLine> run() {
        List<CheckLine> lines = new ArrayList<>();
        URI uri = URI.create(mqtt.url());
        boolean ssl = uri.getScheme().equalsIgnoreCase("ssl");
        int port = uri.getPort() != -1 ? uri.getPort() : ssl ? 8883 : 1883;
        String hostPort = uri.getHost() + ":" + port;
        try (Socket s = new Socket()) {
            s.connect(new InetSocketAddress(uri.getHost(), port), (int) timeout.toMillis());
            lines.add(CheckLine.ok("broker", hostPort + " reachable (" + mqtt.url() + ")"));
        } catch (IOException e) {
            lines.add(CheckLine.fail("broker", "cannot reach " + hostPort + " (mqtt.url=" + mqtt.url() + "): " + e.getMessage()
                    + "; is the broker running, the address right, a firewall in the way?"));
            return lines;
        }
        if (ssl) {
            CheckLine tls = handshake(uri.getHost(), port);
            lines.add(tls);
            if (tls.status() == CheckLine.Status.FAIL) {
                return lines;
            }
        } else {
            lines.add(plain(uri.getHost()));
        }
        lines.add(login());
        return lines;
    }

    /**
     * The TLS handshake on its own, as Paho makes it: the configured socket factory and host name
     * verification, so a refused certificate is told apart from a refused login.
     */
    private CheckLine handshake(String host, int port) {
        try (Socket s = mqtt.tls().socketFactory(mqtt.url()).createSocket()) {
            if (!(s instanceof SSLSocket ssl)) {
                return CheckLine.fail("broker tls", "no TLS socket for " + mqtt.url());
            }
            SSLParameters parameters = ssl.getSSLParameters();
            parameters.setEndpointIdentificationAlgorithm("HTTPS");
            ssl.setSSLParameters(parameters);
            ssl.setSoTimeout((int) timeout.toMillis());
            ssl.connect(new InetSocketAddress(host, port), (int) timeout.toMillis());
            ssl.startHandshake();
            return CheckLine.ok("broker tls", "certificate valid for " + host + " (" + mqtt.tls().describe() + ")");
        } catch (SocketTimeoutException e) {
            return CheckLine.fail("broker tls", "no TLS handshake within " + timeout.toMillis() + " ms: is "
                    + mqtt.url() + " a TLS listener (ssl://), not a plain one (tcp://)?");
        } catch (IOException e) {
            String ours = MqttTls.explain(e);
            return CheckLine.fail("broker tls", ours != null ? ours : root(e) + " (" + mqtt.tls().describe() + ")");
        }
    }

    private CheckLine login() {
        MqttConnectOptions options = new MqttConnectOptions();
        options.setCleanSession(true);
        options.setAutomaticReconnect(false);
        options.setMqttVersion(MqttConnectOptions.MQTT_VERSION_3_1_1);
        options.setSocketFactory(mqtt.tls().socketFactory(mqtt.url()));
        options.setHttpsHostnameVerificationEnabled(true);
        options.setConnectionTimeout((int) Math.max(1, timeout.toSeconds()));
        if (mqtt.username() != null) {
            options.setUserName(mqtt.username());
        }
        if (mqtt.password() != null) {
            options.setPassword(mqtt.password().toCharArray());
        }
        String clientId = mqtt.clientId().length() > 58 ? mqtt.clientId().substring(0, 58) : mqtt.clientId();
        String who = mqtt.username() == null ? "anonymously" : "as user '" + mqtt.username() + "'";
        PahoLog.install();
        try (MqttClient client = new MqttClient(mqtt.url(), clientId + "-check", new MemoryPersistence())) {
            // Paho's connection timeout covers the TCP connect only: without this a broker that accepts and
            // never sends CONNACK hangs the check (BrokerCheckTest)
            client.setTimeToWait(timeout.toMillis());
            client.connect(options);
            client.disconnect();
            return CheckLine.ok("broker login", "accepted " + who);
        } catch (MqttException e) {
            String tls = MqttTls.explain(e);
            if (tls != null) {
                return CheckLine.fail("broker login", tls);
            }
            return switch (e.getReasonCode()) {
                case MqttException.REASON_CODE_FAILED_AUTHENTICATION -> CheckLine.fail("broker login", "refused " + who
                        + ": bad user name or password; check mqtt.username and mqtt.password (a provisioned box: "
                        + "its identity in the state folder)");
                // Mosquitto answers a wrong password with this code too
                case MqttException.REASON_CODE_NOT_AUTHORIZED -> CheckLine.fail("broker login", "refused " + who
                        + ": not authorised; check mqtt.username and mqtt.password, and that the broker lets this "
                        + "user connect");
                default -> CheckLine.fail("broker login", "no MQTT answer " + who + ": " + root(e));
            };
        }
    }

    private static CheckLine plain(String host) {
        boolean local;
        try {
            local = InetAddress.getByName(host).isLoopbackAddress();
        } catch (IOException e) {
            local = false;
        }
        return local ? CheckLine.ok("broker tls", "not used: the broker is on this box (tcp://)")
                : CheckLine.warn("broker tls", "not used (tcp://): passwords and stamps cross the network in clear; "
                        + "use ssl:// with mqtt.tls.ca");
    }

    private static String root(Throwable e) {
        Throwable r = e;
        while (r.getCause() != null && r.getCause() != r) {
            r = r.getCause();
        }
        String text = e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage();
        return r == e ? text : text + ": " + r;
    }
}
