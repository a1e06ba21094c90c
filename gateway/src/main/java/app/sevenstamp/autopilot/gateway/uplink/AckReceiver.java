package app.sevenstamp.autopilot.gateway.uplink;

import app.sevenstamp.autopilot.protocol.MalformedMessageException;
import app.sevenstamp.autopilot.protocol.StampAck;
import app.sevenstamp.autopilot.protocol.WireCodec;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;
import org.tinylog.Logger;

/**
 * The handler of the acks topic. Runs on Paho's callback thread, where blocking or calling back into the
 * client deadlocks (several reported Paho issues), so it only decodes and hands over: never H2, never
 * publish, never wait. Acks waiting for the link's thread are bounded; beyond the bound one is dropped
 * and counted (its event stays in flight and is resent after the ack timeout, then acked as duplicate).
 */
final class AckReceiver implements Consumer<byte[]> {
    private final String deviceId;
    private final int maxQueued;
    private final Consumer<StampAck> handOver;
    private final WireCodec codec = new WireCodec();
    private final AtomicInteger queued = new AtomicInteger();
    private final AtomicLong malformed = new AtomicLong();
    private final AtomicLong dropped = new AtomicLong();
    private final Set<String> warned = ConcurrentHashMap.newKeySet();

    /** @param handOver gives a decoded ack to the link's thread; {@link #taken()} when it is taken off */
    AckReceiver(String deviceId, int maxQueued, Consumer<StampAck> handOver) {
        this.deviceId = deviceId;
        this.maxQueued = maxQueued;
        this.handOver = handOver;
    }

    @Override
    public void accept(byte[] payload) {
        StampAck ack;
        try {
            ack = codec.decodeAck(payload);
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
        handOver.accept(ack);
    }

    /** The link's thread took one ack off the queue. */
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
}
