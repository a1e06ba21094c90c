package app.sevenstamp.autopilot.gateway.uplink;

import java.util.concurrent.CompletableFuture;
import java.util.function.Consumer;

/**
 * The box's one MQTT session as the features see it (fleet, counter rules, vouchers): they register what
 * they need before the link starts, and the link makes it again on every connect. Every method is safe from
 * any thread; none waits for the network.
 */
public interface Link {

    /** A retained last will (QoS 1) the broker publishes when this connection dies. Before start. */
    void will(String topic, byte[] payload);

    /**
     * Subscribes (QoS 1) to {@code topic} on every connect. Before start; one handler per topic. The handler
     * runs on Paho's callback thread: it must only decode and hand over, never block, publish or touch a file.
     */
    void subscribe(String topic, Consumer<byte[]> handler);

    /** Called on the link's thread each time the connection is up and every subscription made; must not block. */
    void onReady(Runnable listener);

    /**
     * Publishes QoS 1; the publish is made on the link's thread. The future says whether Paho took it: false
     * while disconnected, or at once when too many publishes already wait for the link's thread.
     */
    CompletableFuture<Boolean> publish(String topic, byte[] payload, boolean retained);

    /** Connected and subscribed. */
    boolean isConnected();
}
