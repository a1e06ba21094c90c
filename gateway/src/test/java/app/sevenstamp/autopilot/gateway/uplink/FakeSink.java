package app.sevenstamp.autopilot.gateway.uplink;

import app.sevenstamp.autopilot.sink.testing.MoquetteRetry;
import app.sevenstamp.autopilot.protocol.AckOutcome;
import app.sevenstamp.autopilot.protocol.CardState;
import app.sevenstamp.autopilot.protocol.MalformedMessageException;
import app.sevenstamp.autopilot.protocol.RejectReason;
import app.sevenstamp.autopilot.protocol.StampAck;
import app.sevenstamp.autopilot.protocol.StampEvent;
import app.sevenstamp.autopilot.protocol.Topics;
import app.sevenstamp.autopilot.protocol.WireCodec;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
import org.eclipse.paho.client.mqttv3.IMqttDeliveryToken;
import org.eclipse.paho.client.mqttv3.MqttAsyncClient;
import org.eclipse.paho.client.mqttv3.MqttCallback;
import org.eclipse.paho.client.mqttv3.MqttConnectOptions;
import org.eclipse.paho.client.mqttv3.MqttException;
import org.eclipse.paho.client.mqttv3.MqttMessage;
import org.eclipse.paho.client.mqttv3.persist.MemoryPersistence;

/**
 * Stands in for the cloud sink: a real Paho client that receives stamp events and, while acking is on,
 * answers each with an acknowledgement. It acks from its own executor, never inside messageArrived.
 */
final class FakeSink implements AutoCloseable {
    private final WireCodec codec = new WireCodec();
    private final Topics topics = new Topics(Topics.DEFAULT_PREFIX);
    private final MqttAsyncClient client;
    private final ExecutorService acker = Executors.newSingleThreadExecutor(r -> new Thread(r, "fake-sink-acker"));
    private final List<StampEvent> received = new CopyOnWriteArrayList<>();
    private volatile Function<StampEvent, StampAck> answer;

    private FakeSink(String url) throws MqttException {
        client = new MqttAsyncClient(url, "fake-sink-" + System.nanoTime(), new MemoryPersistence());
        client.setCallback(new MqttCallback() {
            @Override
            public void connectionLost(Throwable cause) {
                // tests make a new sink after a broker restart
            }

            @Override
            public void messageArrived(String topic, MqttMessage message) throws MalformedMessageException {
                StampEvent event = codec.decodeStampEvent(message.getPayload());
                received.add(event);
                Function<StampEvent, StampAck> a = answer;
                if (a != null) {
                    acker.execute(() -> ack(a.apply(event)));
                }
            }

            @Override
            public void deliveryComplete(IMqttDeliveryToken token) {
            }
        });
        MqttConnectOptions options = new MqttConnectOptions();
        options.setCleanSession(true);
        try {
            client.connect(options).waitForCompletion(5000);
            client.subscribe(topics.allStamps(), 1).waitForCompletion(5000);
        } catch (MqttException e) {
            try {
                client.disconnectForcibly(0, 0);
            } catch (MqttException alreadyGone) {
                // the connection is what failed
            }
            client.close(true);
            acker.shutdownNow();
            throw e;
        }
    }

    /**
     * Connects and subscribes, again on a dropped connection: Moquette 0.17 now and then drops one while it is
     * being set up (CI: "Connection lost (32109)" 2.4 s into a test that starts with a new fake sink; {@link MoquetteRetry}).
     */
    private static FakeSink connect(String url) throws MqttException {
        try {
            return MoquetteRetry.retry(() -> new FakeSink(url));
        } catch (MqttException e) {
            throw e;
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    /** Connected and subscribed; acks every event as accepted. */
    static FakeSink acking(String url) throws MqttException {
        FakeSink sink = connect(url);
        sink.answerWith(FakeSink::accepted);
        return sink;
    }

    /** Connected and subscribed; receives but does not answer until told to. */
    static FakeSink silent(String url) throws MqttException {
        return connect(url);
    }

    void answerWith(Function<StampEvent, StampAck> answer) {
        this.answer = answer;
    }

    static StampAck accepted(StampEvent e) {
        return new StampAck(WireCodec.SCHEMA, e.eventId(), e.deviceId(), AckOutcome.ACCEPTED, null, false,
                new CardState(e.cardId(), e.programId(), 1, 10, 0, e.deviceTime()));
    }

    static StampAck reward(StampEvent e) {
        return new StampAck(WireCodec.SCHEMA, e.eventId(), e.deviceId(), AckOutcome.ACCEPTED, null, true,
                new CardState(e.cardId(), e.programId(), 0, 10, 1, e.deviceTime()));
    }

    static StampAck rejected(StampEvent e) {
        return new StampAck(WireCodec.SCHEMA, e.eventId(), e.deviceId(), AckOutcome.REJECTED,
                RejectReason.UNKNOWN_PROGRAM, false, null);
    }

    /** Acks everything received so far, with {@code answer}. */
    void ackAllReceived(Function<StampEvent, StampAck> answer) {
        for (StampEvent e : received) {
            acker.execute(() -> ack(answer.apply(e)));
        }
    }

    void publishRaw(String deviceId, byte[] payload) throws MqttException {
        client.publish(topics.acks(deviceId), payload, 1, false).waitForCompletion(5000);
    }

    private void ack(StampAck ack) {
        try {
            client.publish(topics.acks(ack.deviceId()), codec.encode(ack), 1, false);
        } catch (MqttException e) {
            throw new IllegalStateException("fake sink cannot ack", e);
        }
    }

    List<StampEvent> received() {
        return List.copyOf(received);
    }

    List<Long> receivedSeqs() {
        return received.stream().map(StampEvent::seq).toList();
    }

    @Override
    public void close() throws Exception {
        acker.shutdown();
        acker.awaitTermination(5, TimeUnit.SECONDS);
        try {
            if (client.isConnected()) {
                client.disconnect().waitForCompletion(2000);
            }
        } catch (MqttException e) {
            // the broker may be gone already
        }
        client.close(true);
    }
}
