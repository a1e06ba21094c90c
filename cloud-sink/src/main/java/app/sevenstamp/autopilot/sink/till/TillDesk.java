package app.sevenstamp.autopilot.sink.till;

import app.sevenstamp.autopilot.protocol.AckOutcome;
import app.sevenstamp.autopilot.protocol.EventKind;
import app.sevenstamp.autopilot.protocol.RedeemAnswer;
import app.sevenstamp.autopilot.protocol.RedeemRequest;
import app.sevenstamp.autopilot.protocol.StampAck;
import app.sevenstamp.autopilot.protocol.StampEvent;
import app.sevenstamp.autopilot.protocol.Topics;
import app.sevenstamp.autopilot.protocol.WireCodec;
import app.sevenstamp.autopilot.protocol.card.CardCode;
import app.sevenstamp.autopilot.sink.ingest.EventProcessor;
import app.sevenstamp.autopilot.sink.ingest.Outbound;
import app.sevenstamp.autopilot.sink.store.PosRequests;
import app.sevenstamp.autopilot.sink.store.SinkStore;
import app.sevenstamp.autopilot.sink.voucher.Redemptions;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.InvalidKeyException;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Clock;
import java.util.HexFormat;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

/**
 * What a till does, for every till: the POS API ({@code POST /api/v1/stamps}, voucher redeem and
 * cancel) and the console's counter page. A stamp becomes a stamp event of the pseudo-device
 * {@code pos-<location>} decided by the SAME {@link EventProcessor} as a scan (card verification,
 * rules, ledger, dedup); a redeem is the same decision as a box's ({@link Redemptions}). Each request
 * carries an idempotency key: bound to the request it was first used for ({@link PosRequests}), and
 * the event id is derived from it ({@link #eventId}), so a retry is answered DUPLICATE, never counted
 * twice. Answers come after the store synced the decision.
 */
public final class TillDesk {
    private final Map<String, byte[]> idKeys = new TreeMap<>();
    private final EventProcessor processor;
    private final Redemptions redemptions;
    private final SinkStore store;
    private final Topics topics;
    private final Clock clock;
    private final PosRequests requests;
    private final WireCodec codec = new WireCodec();
    /**
     * location + key of the requests this instance is deciding now: a retry that arrives meanwhile is
     * refused ({@link InProgress}) instead of racing the first. Another instance's in-progress request
     * is not seen here; the key binding and the event id still keep the two to one stamp.
     */
    private final Set<String> inFlight = ConcurrentHashMap.newKeySet();

    /** A request with this key is being decided right now: retry once it has been answered (HTTP 409). */
    public static final class InProgress extends RuntimeException {
        private static final long serialVersionUID = 1L;

        InProgress(String key) {
            super("a request with Idempotency-Key '" + key + "' is still in progress; retry once it has been answered",
                    null, false, false);
        }
    }

    /** The key was first used for another request (HTTP 422). */
    public static final class KeyReused extends RuntimeException {
        private static final long serialVersionUID = 1L;

        KeyReused(String key) {
            super("Idempotency-Key '" + key + "' was first used for another request (another card code or kind); "
                    + "use a new key for a new stamp", null, false, false);
        }
    }

    /** A stamp's answer: the wire acknowledgement and its JSON as the boxes get it. */
    public record Stamped(StampAck ack, byte[] json) {
        public boolean rejected() {
            return ack.outcome() == AckOutcome.REJECTED;
        }
    }

    /** @param keys location -> that location's POS API key, which keys its event ids */
    public TillDesk(Map<String, String> keys, EventProcessor processor, Redemptions redemptions, SinkStore store,
            Topics topics, Clock clock) {
        keys.forEach((location, key) -> idKeys.put(location, key.getBytes(StandardCharsets.UTF_8)));
        this.processor = processor;
        this.redemptions = redemptions;
        this.store = store;
        this.topics = topics;
        this.clock = clock;
        this.requests = new PosRequests(store);
    }

    /** The locations that have a till (a POS key): where a stamp can be made. */
    public Set<String> locations() {
        return idKeys.keySet();
    }

    /**
     * Decides a stamp (or a redeem of a card's reward) of {@code location}'s till.
     *
     * @param cardCode the scanned code, five dot-separated parts of at most {@link CardCode#MAX_LENGTH}
     * @return empty when the processor could not use the event at all (a device not allowed)
     * @throws InProgress a request with the key is being decided now
     * @throws KeyReused  the key was first used for another request
     */
    public Optional<Stamped> stamp(String location, String idempotencyKey, String cardCode, EventKind kind) {
        if (!idKeys.containsKey(location)) {
            throw new IllegalArgumentException("location '" + location + "' has no till (pos." + location + ".apiKey)");
        }
        String[] parts = cardCode.split("\\.");
        if (parts.length != 5 || cardCode.length() > CardCode.MAX_LENGTH) {
            throw new IllegalArgumentException("not a card code: 7S1.<key>.<program>.<card>.<signature> is expected");
        }
        String inFlightKey = location + "\n" + idempotencyKey;
        if (!inFlight.add(inFlightKey)) {
            throw new InProgress(idempotencyKey);
        }
        try {
            String kindText = kind == EventKind.STAMP ? "stamp" : "redeem";
            String hash = requestHash(cardCode, kindText);
            if (!hash.equals(requests.bind(location, idempotencyKey, hash, clock.instant()))) {
                throw new KeyReused(idempotencyKey);
            }
            String device = EventProcessor.POS_DEVICE_PREFIX + location;
            StampEvent event = new StampEvent(WireCodec.SCHEMA, eventId(idKeys.get(location), location, idempotencyKey),
                    device, 1, cardCode, parts[2], parts[3], location, clock.instant(), 1, "pos", true, kind);
            Optional<Outbound> answer = processor.process(topics.stamps(device), codec.encode(event));
            if (answer.isPresent()) {
                store.sync();
            }
            return answer.map(o -> new Stamped(o.ack(), o.payload()));
        } finally {
            inFlight.remove(inFlightKey);
        }
    }

    /** A till's redeem of a voucher, or its cancel of the redeem with the same key. */
    public RedeemAnswer redeem(String location, String idempotencyKey, String voucherCode, RedeemRequest.Action action) {
        String device = EventProcessor.POS_DEVICE_PREFIX + location;
        // Stable across retries, distinct across locations. The voucher code is part of it, so one receipt
        // number used for two vouchers makes two requests.
        String requestId = requestId(location, "redeem\n" + idempotencyKey + "\n" + voucherCode);
        RedeemAnswer answer = redemptions.decide(new RedeemRequest(WireCodec.SCHEMA, requestId, device, action, voucherCode,
                location, clock.instant()), device);
        store.sync();
        return answer;
    }

    /** The wire JSON of a redeem answer, as the boxes get it. */
    public byte[] json(RedeemAnswer answer) {
        return codec.encode(answer);
    }

    /**
     * What a key is bound to: SHA-256 of the route and the request's meaning (card code and kind),
     * not its bytes, so a till that writes the same request with other spacing or field order retries it.
     */
    static String requestHash(String cardCode, String kind) {
        try {
            byte[] hash = MessageDigest.getInstance("SHA-256")
                    .digest(("POST /api/v1/stamps\n" + cardCode + "\n" + kind).getBytes(StandardCharsets.UTF_8));
            return HexFormat.of().formatHex(hash);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is part of every JDK", e);
        }
    }

    /**
     * The event id of a till's request: a UUID (version 8, RFC 9562, so it passes the wire
     * contract's event id format) made of HMAC-SHA256 over the location and the idempotency key,
     * keyed with the location's API key. The same for every retry, distinct across locations, and
     * not computable without the key: it was a plain SHA-256 of location and key before, so whoever
     * guessed a till's next Idempotency-Key (receipt numbers) could take its event id first, and the
     * till's stamp was answered DUPLICATE of someone else's event.
     */
    public static String eventId(byte[] apiKey, String location, String idempotencyKey) {
        try {
            Mac mac = Mac.getInstance("HmacSHA256");
            mac.init(new SecretKeySpec(apiKey, "HmacSHA256"));
            ByteBuffer h = ByteBuffer.wrap(mac.doFinal((location + "\n" + idempotencyKey).getBytes(StandardCharsets.UTF_8)));
            long msb = (h.getLong() & ~0xF000L) | 0x8000L;
            long lsb = (h.getLong() & 0x3FFFFFFFFFFFFFFFL) | 0x8000000000000000L;
            return new UUID(msb, lsb).toString();
        } catch (NoSuchAlgorithmException | InvalidKeyException e) {
            throw new IllegalStateException("HmacSHA256 is part of every JDK", e);
        }
    }

    /**
     * 'pos-' and 40 hex digits of SHA-256(location, key), what POS stamp event ids were too. Kept for
     * redemptions: a cancel must find the redeem stored under the id a sink before this one derived.
     */
    private static String requestId(String location, String idempotencyKey) {
        try {
            byte[] hash = MessageDigest.getInstance("SHA-256")
                    .digest((location + "\n" + idempotencyKey).getBytes(StandardCharsets.UTF_8));
            return "pos-" + HexFormat.of().formatHex(hash).substring(0, 40);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is part of every JDK", e);
        }
    }
}
