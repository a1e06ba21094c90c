package app.sevenstamp.autopilot.sink.testing;

import java.time.Duration;
import org.eclipse.paho.client.mqttv3.MqttException;

/**
 * A test's short MQTT exchange with the embedded broker, tried again the way a box reconnects. Moquette 0.17
 * now and then drops a connection (a session loop dies on a buffer released twice; "SUBSCRIBE received on
 * already closed connection"), and the sink then restarts the broker on the same port ({@code EmbeddedBroker}),
 * so connects are refused until the new broker listens: up to 3 s for the old one to stop, then the start,
 * longer on a loaded CI machine; and the sink's guard cuts a public ({@code prov-}) login while their shared
 * budget is spent. So the exchange is tried again, with a growing pause, until {@link #PATIENCE}
 * has passed (a fixed count of quick tries gave up inside a slow restart in CI). Only those two failures are
 * tried again; anything else, and a failure after the patience, is the test's error.
 */
public final class MoquetteRetry {
    static final Duration PATIENCE = Duration.ofSeconds(20);
    private static final long FIRST_PAUSE_MS = 250;
    private static final long MAX_PAUSE_MS = 2_000;

    /** One exchange: it opens and closes its own client, so a second try starts clean. */
    @FunctionalInterface
    public interface Exchange<T> {
        T run() throws Exception;
    }

    private MoquetteRetry() {
    }

    public static <T> T retry(Exchange<T> exchange) throws Exception {
        long deadline = System.nanoTime() + PATIENCE.toNanos();
        long pause = FIRST_PAUSE_MS;
        for (int attempt = 1; ; attempt++) {
            try {
                return exchange.run();
            } catch (MqttException e) {
                boolean dropped = e.getReasonCode() == MqttException.REASON_CODE_CONNECTION_LOST
                        || e.getReasonCode() == MqttException.REASON_CODE_SERVER_CONNECT_ERROR;
                if (!dropped || System.nanoTime() + pause * 1_000_000 > deadline) {
                    throw e;
                }
                // in the test's report, so a run that needed it says so
                System.err.printf("MoquetteRetry: attempt %d failed (%s, reason %d); again in %d ms%n", attempt,
                        e.getMessage(), e.getReasonCode(), pause);
                Thread.sleep(pause); // the broker's restart takes a moment; a box backs off too
                pause = Math.min(MAX_PAUSE_MS, pause * 2);
            }
        }
    }
}
