package app.sevenstamp.autopilot.sink.broker;

import java.util.concurrent.TimeoutException;
import org.eclipse.paho.client.mqttv3.IMqttToken;
import org.eclipse.paho.client.mqttv3.MqttAsyncClient;
import org.eclipse.paho.client.mqttv3.MqttConnectOptions;
import org.eclipse.paho.client.mqttv3.MqttException;
import org.tinylog.Logger;

/**
 * One bounded connect for the sink's MQTT clients. Paho 1.2.5 applies the connection timeout to the TCP
 * connect and, separately, to the TLS handshake, but not to the wait for CONNACK: a broker, a proxy or a
 * host that accepts the connection and never answers the CONNECT leaves the connect pending for good, and
 * every later {@code connect} then fails at once as "connect already in progress", even after the broker
 * answers again. So the wait is bounded here (twice the timeout: both bounded steps) and a connect still
 * pending after it is dropped (the socket closed, Paho back to "disconnected") before the caller retries.
 */
final class BrokerConnect {
    private BrokerConnect() {
    }

    /** How long an attempt may go without an answer: twice Paho's connection timeout. */
    public static long waitMillis(int connectionTimeoutSeconds) {
        return 2_000L * Math.max(1, connectionTimeoutSeconds);
    }

    /**
     * Connects and waits for the broker's answer, at most {@link #waitMillis}.
     *
     * @throws MqttException the connect failed, or ({@link MqttException#REASON_CODE_CLIENT_TIMEOUT}) the
     *                       broker did not answer in time and the attempt was dropped: retry
     */
    public static IMqttToken connect(MqttAsyncClient client, MqttConnectOptions o) throws MqttException {
        IMqttToken token = client.connect(o);
        long wait = waitMillis(o.getConnectionTimeout());
        try {
            token.waitForCompletion(wait);
        } catch (MqttException e) {
            if (e.getReasonCode() != MqttException.REASON_CODE_CLIENT_TIMEOUT || token.isComplete()) {
                throw e;
            }
            abandon(client);
            throw new MqttException(MqttException.REASON_CODE_CLIENT_TIMEOUT, new TimeoutException("no answer to CONNECT within "
                    + wait / 1000 + " s: the host accepted the connection and stayed silent"));
        }
        return token;
    }

    /** Drops a pending connect: no DISCONNECT packet (the broker has answered nothing), just the socket. */
    static void abandon(MqttAsyncClient client) {
        try {
            client.disconnectForcibly(0, 0, false);
        } catch (MqttException e) {
            Logger.debug("forced disconnect of a stalled connect failed: {}", e.toString());
        }
    }
}
