package app.sevenstamp.autopilot.sink.broker;

import app.sevenstamp.autopilot.protocol.support.NamedThreads;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.eclipse.paho.client.mqttv3.MqttAsyncClient;
import org.eclipse.paho.client.mqttv3.MqttConnectOptions;
import org.eclipse.paho.client.mqttv3.MqttException;
import org.tinylog.Logger;

/**
 * Unsticks Paho's automatic reconnect when an attempt is never answered (see {@link BrokerConnect}: Paho
 * waits for CONNACK forever, and its reconnect cycle waits for that attempt). The attempts are Paho's, so
 * their start is not visible here; what is: how long the client has been down since the connection was
 * lost. Once that exceeds Paho's longest reconnect delay plus {@link BrokerConnect#waitMillis} plus a
 * margin, no healthy attempt can still be running: the pending one is dropped and a new one started
 * through Paho's own {@code reconnect()}, whose failure continues Paho's reconnect cycle with its backoff
 * (a dropped attempt alone does not: measured, Paho then stays silent). Again after the same time while
 * still down.
 *
 * <p>Threads: {@link #lost()} and {@link #connected()} are called from Paho's callback thread; one daemon
 * thread ({@code NAME-reconnect-watchdog}) checks once a second and makes the only Paho call. No lock.
 */
public final class ReconnectWatchdog implements AutoCloseable {
    private static final long MARGIN_MILLIS = 10_000;

    private final String name;
    private final MqttAsyncClient client;
    private final long limitNanos;
    private final ScheduledExecutorService timer;
    /** System.nanoTime() of the loss or of the last drop; meaningful only while {@link #down}. */
    private volatile long downSince;
    private volatile boolean down;
    /** Drops in this episode, for logging once per episode. */
    private int drops;

    /**
     * @param maxReconnectDelayMillis  {@link MqttConnectOptions#setMaxReconnectDelay} of the client's options
     * @param connectionTimeoutSeconds {@link MqttConnectOptions#setConnectionTimeout} of the client's options
     */
    public ReconnectWatchdog(String name, MqttAsyncClient client, int maxReconnectDelayMillis, int connectionTimeoutSeconds) {
        this.name = name;
        this.client = client;
        this.limitNanos = TimeUnit.MILLISECONDS.toNanos(maxReconnectDelayMillis
                + BrokerConnect.waitMillis(connectionTimeoutSeconds) + MARGIN_MILLIS);
        this.timer = Executors.newSingleThreadScheduledExecutor(NamedThreads.daemon(name + "-reconnect-watchdog"));
        timer.scheduleWithFixedDelay(this::check, 1, 1, TimeUnit.SECONDS);
    }

    /** The connection was lost: Paho's reconnect cycle starts. */
    public void lost() {
        downSince = System.nanoTime();
        down = true;
    }

    /** A (re)connect completed. */
    public void connected() {
        down = false;
    }

    private void check() {
        try {
            long now = System.nanoTime();
            if (!down) {
                drops = 0;
                return;
            }
            if (now - downSince < limitNanos) {
                return;
            }
            if (client.isConnected()) {
                down = false;
                return;
            }
            drops++;
            String message = "{}: no reconnect to {} within {} s; dropping the pending attempt (a broker that accepts the "
                    + "connection and never answers) and trying again";
            if (drops == 1) {
                Logger.warn(message, name, client.getServerURI(), TimeUnit.NANOSECONDS.toSeconds(now - downSince));
            } else {
                Logger.debug(message, name, client.getServerURI(), TimeUnit.NANOSECONDS.toSeconds(now - downSince));
            }
            downSince = now;
            BrokerConnect.abandon(client);
            try {
                client.reconnect();
            } catch (MqttException e) {
                Logger.debug("{}: reconnect after dropping a stalled attempt: {}", name, e.toString());
            }
        } catch (RuntimeException e) {
            // an exception escaping a scheduled task would end the watchdog for good
            Logger.warn("{}: reconnect watchdog failed: {}", name, e.toString());
        }
    }

    @Override
    public void close() {
        timer.shutdownNow();
    }
}
