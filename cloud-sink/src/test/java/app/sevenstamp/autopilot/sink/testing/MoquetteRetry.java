package app.sevenstamp.autopilot.sink.testing;

import java.time.Duration;
import org.eclipse.paho.client.mqttv3.MqttException;

/**
 * A test's short MQTT exchange with the embedded broker, tried again the way a box reconnects. Moquette 0.17
 * now and then drops a connection (a session loop dies on a buffer released twice; "SUBSCRIBE received on
 * already closed connection"), and the sink then restarts the broker on the same port ({@code EmbeddedBroker}),
 * so the next connect may be refused for a moment. Both were seen in CI. Only those two failures are tried
 * again; anything else, and the third failure, is the test's error.
 */
public final class MoquetteRetry {
    private static final int ATTEMPTS = 3;
    private static final Duration PAUSE = Duration.ofMillis(500);

    /** One exchange: it opens and closes its own client, so a second try starts clean. */
    @FunctionalInterface
    public interface Exchange<T> {
        T run() throws Exception;
    }

    private MoquetteRetry() {
    }

    public static <T> T retry(Exchange<T> exchange) throws Exception {
        for (int attempt = 1; ; attempt++) {
            try {
                return exchange.run();
            } catch (MqttException e) {
                boolean dropped = e.getReasonCode() == MqttException.REASON_CODE_CONNECTION_LOST
                        || e.getReasonCode() == MqttException.REASON_CODE_SERVER_CONNECT_ERROR;
                if (attempt == ATTEMPTS || !dropped) {
                    throw e;
                }
                Thread.sleep(PAUSE.toMillis()); // the broker's restart takes a moment; a box backs off too
            }
        }
    }
}
