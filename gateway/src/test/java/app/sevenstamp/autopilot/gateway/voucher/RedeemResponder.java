package app.sevenstamp.autopilot.gateway.voucher;

import app.sevenstamp.autopilot.protocol.RedeemAnswer;
import app.sevenstamp.autopilot.protocol.RedeemOutcome;
import app.sevenstamp.autopilot.protocol.RedeemRequest;
import app.sevenstamp.autopilot.protocol.Topics;
import app.sevenstamp.autopilot.protocol.WireCodec;
import app.sevenstamp.autopilot.protocol.support.NoDelaySockets;
import app.sevenstamp.autopilot.sink.testing.MoquetteRetry;
import java.time.Instant;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import org.eclipse.paho.client.mqttv3.IMqttDeliveryToken;
import org.eclipse.paho.client.mqttv3.MqttAsyncClient;
import org.eclipse.paho.client.mqttv3.MqttCallback;
import org.eclipse.paho.client.mqttv3.MqttConnectOptions;
import org.eclipse.paho.client.mqttv3.MqttException;
import org.eclipse.paho.client.mqttv3.MqttMessage;
import org.eclipse.paho.client.mqttv3.persist.MemoryPersistence;

/**
 * Stands in for the sink's redeem service, as the {@link RedeemRequest} javadoc describes it: a real Paho
 * client on {@code PREFIX/gw/+/redeem} that answers each REDEEM on {@code PREFIX/gw/{id}/redeemack} after
 * "committing" it, deduplicates on the request id (a redelivery gets the same answer), answers a CANCEL with
 * CANCELLED and reverses the redemption that request made, and refuses a REDEEM that comes after its CANCEL.
 * Answers go out from its own executor, never inside messageArrived.
 *
 * <p>Vouchers it knows are added with {@link #issue}; any other code is UNKNOWN. While {@link #hold} is on,
 * REDEEM requests are decided and committed at once but their answers are held back (a slow sink or network)
 * until {@link #releaseHeld}; answers to CANCEL are never held. {@link #ignoreCancels} makes it drop the next
 * CANCELs unread (lost between broker and sink), and {@link #reconnect} brings it back after a broker restart
 * with its state (the sink's database) intact.
 */
public final class RedeemResponder implements AutoCloseable {
    record Voucher(String title, String posCode) {
    }

    private final WireCodec codec = new WireCodec();
    private final Topics topics = new Topics(Topics.DEFAULT_PREFIX);
    private final MqttAsyncClient client;
    private final ExecutorService worker = Executors.newSingleThreadExecutor(r -> new Thread(r, "redeem-responder"));
    private final List<RedeemRequest> received = new CopyOnWriteArrayList<>();
    // state below: worker thread only
    private final Map<String, Voucher> issued = new HashMap<>();
    private final Set<String> redeemedCodes = new HashSet<>();
    private final Map<String, RedeemAnswer> answered = new HashMap<>();
    private final Set<String> cancelled = new HashSet<>();
    private final List<RedeemRequest> held = new java.util.ArrayList<>();
    private volatile boolean hold;
    private final java.util.concurrent.atomic.AtomicInteger cancelsToIgnore = new java.util.concurrent.atomic.AtomicInteger();
    private final String url;

    public RedeemResponder(String url) throws MqttException {
        this.url = url;
        client = new MqttAsyncClient(url, "redeem-responder-" + System.nanoTime(), new MemoryPersistence());
        client.setCallback(new MqttCallback() {
            @Override
            public void connectionLost(Throwable cause) {
                // the tests do not restart the broker under the responder
            }

            @Override
            public void messageArrived(String topic, MqttMessage message) throws Exception {
                RedeemRequest request = codec.decode(message.getPayload(), RedeemRequest.class);
                received.add(request);
                if (request.action() == RedeemRequest.Action.CANCEL && cancelsToIgnore.getAndUpdate(n -> Math.max(0, n - 1)) > 0) {
                    return; // lost on its way into the sink: no answer, nothing reversed
                }
                worker.execute(() -> handle(request));
            }

            @Override
            public void deliveryComplete(IMqttDeliveryToken token) {
            }
        });
        try {
            connect();
        } catch (MqttException e) {
            try {
                close(); // a second try starts clean (connected)
            } catch (Exception suppressed) {
                e.addSuppressed(suppressed);
            }
            throw e;
        }
    }

    /**
     * Connected and subscribed, tried again when the broker drops the connection while it is set up: Moquette
     * 0.17 now and then does, most often right after a restart (CI: "Connection lost (32109)" in
     * VoucherRedeemIT's constructor after {@code startAgain}; {@link MoquetteRetry}).
     */
    public static RedeemResponder connected(String url) throws Exception {
        return MoquetteRetry.retry(() -> new RedeemResponder(url));
    }

    private void connect() throws MqttException {
        MqttConnectOptions options = new MqttConnectOptions();
        options.setCleanSession(true);
        options.setSocketFactory(NoDelaySockets.forUrl(url)); // as the sink does: no Nagle delay on its answers
        client.connect(options).waitForCompletion(5000);
        client.subscribe(topics.allRedeems(), 1).waitForCompletion(5000);
    }

    /** After the broker was restarted: connects again, keeping what it redeemed and cancelled. */
    public void reconnect() throws Exception {
        MoquetteRetry.retry(() -> {
            connect();
            return null;
        });
    }

    /** The next {@code n} CANCELs are received but get no answer and reverse nothing. */
    public void ignoreCancels(int n) {
        cancelsToIgnore.set(n);
    }

    public void issue(String code, String title, String posCode) {
        worker.execute(() -> issued.put(code, new Voucher(title, posCode)));
    }

    public void hold(boolean hold) {
        this.hold = hold;
    }

    public List<RedeemRequest> received() {
        return List.copyOf(received);
    }

    private void handle(RedeemRequest r) {
        if (r.action() == RedeemRequest.Action.CANCEL) {
            cancelled.add(r.requestId());
            RedeemAnswer made = answered.get(r.requestId());
            if (made != null && made.outcome() == RedeemOutcome.REDEEMED) {
                redeemedCodes.remove(r.voucherCode()); // reversed: the voucher can be used again
            }
            answer(r, RedeemOutcome.CANCELLED, null);
            return;
        }
        RedeemOutcome outcome = decide(r);
        RedeemAnswer a = answerTo(r, outcome, outcome == RedeemOutcome.REDEEMED ? issued.get(r.voucherCode()) : null);
        answered.putIfAbsent(r.requestId(), a);
        if (hold) {
            held.add(r);
        } else {
            publish(answered.get(r.requestId()));
        }
    }

    /** Sends the answers held back, each as it was decided when its request arrived. */
    public void releaseHeld() {
        worker.execute(() -> {
            for (RedeemRequest r : held) {
                publish(answered.get(r.requestId()));
            }
            held.clear();
        });
    }

    /** A redeem answer exactly as given, for the malformed-answer tests. */
    public void publishRaw(String deviceId, byte[] payload) throws MqttException {
        client.publish(topics.redeemAnswers(deviceId), payload, 1, false).waitForCompletion(5000);
    }

    private RedeemOutcome decide(RedeemRequest r) {
        RedeemAnswer before = answered.get(r.requestId());
        if (before != null) {
            return before.outcome(); // a redelivery: the same answer
        }
        if (cancelled.contains(r.requestId())) {
            return RedeemOutcome.CANCELLED; // the REDEEM came after its CANCEL: refused, nothing redeemed
        }
        if (!issued.containsKey(r.voucherCode())) {
            return RedeemOutcome.UNKNOWN;
        }
        if (!redeemedCodes.add(r.voucherCode())) {
            return RedeemOutcome.ALREADY_REDEEMED;
        }
        return RedeemOutcome.REDEEMED;
    }

    private void answer(RedeemRequest r, RedeemOutcome outcome, Voucher voucher) {
        publish(answerTo(r, outcome, voucher));
    }

    private static RedeemAnswer answerTo(RedeemRequest r, RedeemOutcome outcome, Voucher voucher) {
        return new RedeemAnswer(WireCodec.SCHEMA, r.requestId(), r.deviceId(), outcome, r.voucherCode(),
                voucher == null ? null : voucher.title(), voucher == null ? null : voucher.posCode(),
                Instant.parse("2027-01-31T23:00:00Z"));
    }

    private void publish(RedeemAnswer a) {
        try {
            client.publish(topics.redeemAnswers(a.deviceId()), codec.encode(a), 1, false);
        } catch (MqttException e) {
            throw new IllegalStateException("responder cannot answer", e);
        }
    }

    /** Whether the voucher is redeemed now, as the sink's state says. */
    public boolean redeemed(String code) throws Exception {
        return worker.submit(() -> redeemedCodes.contains(code)).get(5, TimeUnit.SECONDS);
    }

    @Override
    public void close() throws Exception {
        worker.shutdown();
        worker.awaitTermination(5, TimeUnit.SECONDS);
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
