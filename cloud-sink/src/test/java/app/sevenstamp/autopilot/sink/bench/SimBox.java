package app.sevenstamp.autopilot.sink.bench;

import app.sevenstamp.autopilot.protocol.EventKind;
import app.sevenstamp.autopilot.protocol.MalformedMessageException;
import app.sevenstamp.autopilot.protocol.StampAck;
import app.sevenstamp.autopilot.protocol.StampEvent;
import app.sevenstamp.autopilot.protocol.Topics;
import app.sevenstamp.autopilot.protocol.WireCodec;
import app.sevenstamp.autopilot.protocol.support.NoDelaySockets;
import java.time.Instant;
import java.util.BitSet;
import java.util.List;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.function.LongConsumer;
import org.eclipse.paho.client.mqttv3.IMqttActionListener;
import org.eclipse.paho.client.mqttv3.IMqttDeliveryToken;
import org.eclipse.paho.client.mqttv3.IMqttToken;
import org.eclipse.paho.client.mqttv3.MqttAsyncClient;
import org.eclipse.paho.client.mqttv3.MqttCallback;
import org.eclipse.paho.client.mqttv3.MqttConnectOptions;
import org.eclipse.paho.client.mqttv3.MqttException;
import org.eclipse.paho.client.mqttv3.MqttMessage;
import org.eclipse.paho.client.mqttv3.persist.MemoryPersistence;

/**
 * One simulated counter box: its own MQTT connection, device id and sequence numbers, and an outbox
 * that keeps every stamp until the sink acknowledges it, as the wire contract asks of a gateway. It
 * sends in order with at most {@code window} unacknowledged, resends what an ack timeout or a lost
 * connection left unanswered, and reconnects with jittered exponential backoff (1 s doubling to 30 s,
 * each delay drawn from half to the whole), so a broker restart brings the boxes back spread out.
 *
 * <p>Only numbers are kept per stamp (its seq, the time of its first send); the event itself is built
 * again for every send from the box's index and the seq, so a thousand boxes with 500 stamps each fit
 * in a few tens of megabytes.
 */
final class SimBox implements MqttCallback {
    private static final long ACK_TIMEOUT_NANOS = TimeUnit.SECONDS.toNanos(10);
    private static final WireCodec CODEC = new WireCodec();

    final String deviceId;
    private final int index;
    private final String runTag;
    private final Topics topics;
    private final List<String> cards;
    private final int window;
    private final ScheduledExecutorService timers;
    private final LongConsumer ackLatencyNanos;
    private final MqttAsyncClient client;

    // guarded by this
    private long produced;
    private final BitSet acked = new BitSet();
    private long ackedCount;
    private long nextToSend = 1;
    private long[] firstSentNanos = new long[64];
    private long lastSendNanos;
    private long connectedAtNanos;
    private long lastAckNanos;
    private int connects;
    private long backoffMillis = 1000;
    private boolean connected;
    private boolean closed;

    SimBox(String brokerUrl, int index, String runTag, Topics topics, List<String> cards, int window,
            ScheduledExecutorService timers, LongConsumer ackLatencyNanos) throws MqttException {
        this.index = index;
        this.deviceId = String.format("sim-%04d", index);
        this.runTag = runTag;
        this.topics = topics;
        this.cards = cards;
        this.window = window;
        this.timers = timers;
        this.ackLatencyNanos = ackLatencyNanos;
        this.client = new MqttAsyncClient(brokerUrl, deviceId, new MemoryPersistence());
        client.setCallback(this);
    }

    void connect() {
        MqttConnectOptions o = new MqttConnectOptions();
        o.setCleanSession(true); // the outbox, not the broker's session, is what makes delivery sure
        o.setMaxInflight(Math.max(10, window * 2));
        o.setConnectionTimeout(10);
        o.setKeepAliveInterval(30);
        o.setSocketFactory(NoDelaySockets.forUrl(client.getServerURI())); // as the gateway's uplink does
        try {
            client.connect(o, null, new IMqttActionListener() {
                @Override
                public void onSuccess(IMqttToken token) {
                    subscribe();
                }

                @Override
                public void onFailure(IMqttToken token, Throwable e) {
                    retryLater();
                }
            });
        } catch (MqttException e) {
            retryLater();
        }
    }

    private void subscribe() {
        try {
            client.subscribe(topics.acks(deviceId), 1, null, new IMqttActionListener() {
                @Override
                public void onSuccess(IMqttToken token) {
                    synchronized (SimBox.this) {
                        connected = true;
                        connects++;
                        connectedAtNanos = System.nanoTime();
                        backoffMillis = 1000;
                        nextToSend = firstUnacked(); // what was in flight when the link went may be lost
                    }
                    pump();
                }

                @Override
                public void onFailure(IMqttToken token, Throwable e) {
                    dropAndRetry();
                }
            });
        } catch (MqttException e) {
            dropAndRetry();
        }
    }

    private void dropAndRetry() {
        try {
            client.disconnectForcibly(0, 1000);
        } catch (MqttException ignored) {
            // the retry connects afresh
        }
        retryLater();
    }

    private void retryLater() {
        long delay;
        synchronized (this) {
            if (closed) {
                return;
            }
            connected = false;
            delay = ThreadLocalRandom.current().nextLong(backoffMillis / 2, backoffMillis + 1);
            backoffMillis = Math.min(30_000, backoffMillis * 2);
        }
        timers.schedule(this::connect, delay, TimeUnit.MILLISECONDS);
    }

    /** A scan at the counter: stored in the outbox, sent when the window and the link allow. */
    void scan() {
        synchronized (this) {
            produced++;
            if (produced >= firstSentNanos.length) {
                firstSentNanos = java.util.Arrays.copyOf(firstSentNanos, firstSentNanos.length * 2);
            }
        }
        pump();
    }

    /** Sends what the window allows; resends from the oldest unacknowledged stamp once its ack is overdue. */
    void pump() {
        while (true) {
            long seq;
            synchronized (this) {
                if (!connected || closed) {
                    return;
                }
                long oldest = firstUnacked();
                long now = System.nanoTime();
                if (oldest <= produced && nextToSend > oldest && now - lastSendNanos > ACK_TIMEOUT_NANOS
                        && lastAckNanos < now - ACK_TIMEOUT_NANOS) {
                    nextToSend = oldest; // nothing answered for an ack timeout: send again from the oldest
                }
                while (nextToSend <= produced && acked.get((int) nextToSend)) {
                    nextToSend++;
                }
                if (nextToSend > produced || nextToSend - oldest >= window) {
                    return;
                }
                seq = nextToSend++;
                if (firstSentNanos[(int) seq] == 0) {
                    firstSentNanos[(int) seq] = now;
                }
                lastSendNanos = now;
            }
            try {
                client.publish(topics.stamps(deviceId), CODEC.encode(event(seq)), 1, false);
            } catch (MqttException e) {
                synchronized (this) {
                    nextToSend = Math.min(nextToSend, seq);
                }
                return; // the link went; connectionLost or the next sweep takes it from here
            }
        }
    }

    private long firstUnacked() {
        int clear = acked.nextClearBit(1);
        return clear;
    }

    private StampEvent event(long seq) {
        String code = cards.get((int) ((index + seq) % cards.size()));
        String[] parts = code.split("\\.");
        String eventId = String.format("%s-%04x-4000-8000-%012x", runTag, index, seq);
        Instant at = Instant.parse("2026-11-23T08:00:00Z").plusSeconds(seq);
        return new StampEvent(WireCodec.SCHEMA, eventId, deviceId, seq, code, parts[2], parts[3], "shop-" + (index % 50),
                at, seq, "boot-" + runTag, true, EventKind.STAMP);
    }

    @Override
    public void messageArrived(String topic, MqttMessage message) {
        StampAck ack;
        try {
            ack = CODEC.decode(message.getPayload(), StampAck.class);
        } catch (MalformedMessageException | RuntimeException e) {
            return;
        }
        String id = ack.eventId();
        if (!id.startsWith(runTag + "-")) {
            return;
        }
        long seq = Long.parseLong(id.substring(id.length() - 12), 16);
        long latency = -1;
        synchronized (this) {
            if (seq < 1 || seq > produced || acked.get((int) seq)) {
                return; // a second ack for a resend: the sink answered DUPLICATE, nothing to count
            }
            acked.set((int) seq);
            ackedCount++;
            lastAckNanos = System.nanoTime();
            latency = lastAckNanos - firstSentNanos[(int) seq];
        }
        ackLatencyNanos.accept(latency);
        pump();
    }

    @Override
    public void connectionLost(Throwable cause) {
        retryLater();
    }

    @Override
    public void deliveryComplete(IMqttDeliveryToken token) {
    }

    synchronized long produced() {
        return produced;
    }

    synchronized long acked() {
        return ackedCount;
    }

    synchronized boolean drained() {
        return ackedCount == produced;
    }

    /** Nanoseconds from this box's last (re)connect to its last ack. */
    synchronized long drainNanos() {
        return lastAckNanos - connectedAtNanos;
    }

    synchronized int connects() {
        return connects;
    }

    void close() {
        synchronized (this) {
            closed = true;
        }
        try {
            client.disconnectForcibly(0, 1000);
        } catch (MqttException ignored) {
            // closing anyway
        }
        try {
            client.close(true);
        } catch (MqttException ignored) {
            // closing anyway
        }
    }
}
