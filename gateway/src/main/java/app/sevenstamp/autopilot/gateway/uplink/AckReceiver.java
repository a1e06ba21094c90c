package app.sevenstamp.autopilot.gateway.uplink;

import app.sevenstamp.autopilot.protocol.MalformedMessageException;
import app.sevenstamp.autopilot.protocol.StampAck;
import app.sevenstamp.autopilot.protocol.WireCodec;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;
import org.eclipse.paho.client.mqttv3.IMqttDeliveryToken;
import org.eclipse.paho.client.mqttv3.MqttCallback;
import org.eclipse.paho.client.mqttv3.MqttMessage;
import org.tinylog.Logger;

/**
 * Paho's global callback. Runs on Paho's callback thread, where blocking or calling back into the
 * client deadlocks (several reported Paho issues), so it only decodes and hands over: never H2, never
 * publish, never wait. Acks waiting for the uplink thread are bounded; beyond the bound one is dropped
 * and counted (its event stays in flight and is resent after the ack timeout, then acked as duplicate).
 */
final class AckReceiver implements MqttCallback {
    private final String acksTopic;
    private final String deviceId;
    private final int maxQueued;
    private final Consumer<Uplink.Event> handOver;
    private final Consumer<Throwable> onLost;
    private final WireCodec codec = new WireCodec();
    private final AtomicInteger queued = new AtomicInteger();
    private final AtomicLong malformed = new AtomicLong();
    private final AtomicLong dropped = new AtomicLong();
    private final Set<String> warned = ConcurrentHashMap.newKeySet();

    private final java.util.Map<String, Consumer<byte[]>> extra;

    AckReceiver(String acksTopic, String deviceId, int maxQueued, Consumer<Uplink.Event> handOver,
            Consumer<Throwable> onLost, java.util.Map<String, Consumer<byte[]>> extra) {
        this.extra = extra;
        this.onLost = onLost;
        this.acksTopic = acksTopic;
        this.deviceId = deviceId;
        this.maxQueued = maxQueued;
        this.handOver = handOver;
    }

    @Override
    public void connectionLost(Throwable cause) {
        onLost.accept(cause);
    }

    @Override
    public void messageArrived(String topic, MqttMessage message) {
        Consumer<byte[]> other = extra.get(topic);
        if (other != null) {
            other.accept(message.getPayload());
            return;
        }
        if (!acksTopic.equals(topic)) {
            Logger.debug("ignoring a message on {}", topic);
            return;
        }
        StampAck ack;
        try {
            ack = codec.decodeAck(message.getPayload());
        } catch (MalformedMessageException e) {
            malformed(e.kind(), e.getMessage());
            return;
        }
        if (!deviceId.equals(ack.deviceId())) {
            malformed("device", "ack for device '" + ack.deviceId() + "' on the topic of " + deviceId);
            return;
        }
        if (queued.incrementAndGet() > maxQueued) {
            queued.decrementAndGet();
            long n = dropped.incrementAndGet();
            Logger.warn("dropped an acknowledgement for {}: {} already waiting ({} dropped so far)", ack.eventId(),
                    maxQueued, n);
            return;
        }
        handOver.accept(new Uplink.Ack(ack));
    }

    /** The uplink thread took one ack off the queue. */
    void taken() {
        queued.decrementAndGet();
    }

    long malformed() {
        return malformed.get();
    }

    private void malformed(String kind, String message) {
        long n = malformed.incrementAndGet();
        // once per kind: a misbehaving sink must not flood the log
        if (warned.add(kind)) {
            Logger.warn("ignoring a malformed acknowledgement ({}); further ones of this kind are only counted. {}",
                    message, "total so far: " + n);
        }
    }

    @Override
    public void deliveryComplete(IMqttDeliveryToken token) {
        // a broker PUBACK: not an acknowledgement from the sink, nothing to do
    }
}
