package app.sevenstamp.autopilot.sink.broker;

import app.sevenstamp.autopilot.protocol.support.MqttTls;
import javax.net.SocketFactory;
import org.eclipse.paho.client.mqttv3.MqttConnectOptions;

/**
 * How every MQTT client of the sink (ingest, redeem service, fleet) reaches the broker: Nagle off, the
 * configured CA and client certificate for ssl://, the broker's host name checked against its certificate,
 * and the sink's account. One place, so that no client is left on the JVM's CA store by accident.
 */
final class BrokerLogin {
    private BrokerLogin() {
    }

    /** Sets the socket factory, host name check and credentials on {@code o}; null user or password means none. */
    public static MqttConnectOptions apply(MqttConnectOptions o, String brokerUrl, MqttTls tls, String username,
            String password) {
        SocketFactory sockets = tls.socketFactory(brokerUrl);
        if (sockets != null) {
            o.setSocketFactory(sockets);
        }
        o.setHttpsHostnameVerificationEnabled(true);
        if (username != null) {
            o.setUserName(username);
        }
        if (password != null) {
            o.setPassword(password.toCharArray());
        }
        return o;
    }
}
