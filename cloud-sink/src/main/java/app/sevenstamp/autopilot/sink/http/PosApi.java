package app.sevenstamp.autopilot.sink.http;

import app.sevenstamp.autopilot.protocol.AckOutcome;
import app.sevenstamp.autopilot.protocol.EventKind;
import app.sevenstamp.autopilot.protocol.StampEvent;
import app.sevenstamp.autopilot.protocol.Topics;
import app.sevenstamp.autopilot.protocol.WireCodec;
import app.sevenstamp.autopilot.protocol.card.CardCode;
import app.sevenstamp.autopilot.sink.ingest.EventProcessor;
import app.sevenstamp.autopilot.sink.ingest.Outbound;
import app.sevenstamp.autopilot.sink.store.PosRequests;
import app.sevenstamp.autopilot.sink.store.SinkStore;
import app.sevenstamp.autopilot.sink.web.Access;
import app.sevenstamp.autopilot.sink.web.Exchange;
import app.sevenstamp.autopilot.sink.web.Problem;
import app.sevenstamp.autopilot.sink.web.Router;
import com.fasterxml.jackson.databind.JsonNode;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.InvalidKeyException;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Clock;
import java.util.HexFormat;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.regex.Pattern;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;
import org.tinylog.Logger;

/**
 * {@code POST /api/v1/stamps}: the POS channel. A till sends {@code {"cardCode":"7S1...","kind":"stamp"}}
 * with {@code Authorization: Bearer <pos.<location>.apiKey>} and an {@code Idempotency-Key}; the
 * sink turns it into a stamp event of the pseudo-device {@code pos-<location>} and decides it
 * through the SAME {@link EventProcessor} as a scan (card verification, rules, ledger, dedup).
 * The event id is derived from the location and the idempotency key, keyed with the location's
 * API key ({@link #eventId}), so a retried request is answered DUPLICATE with the card as it is,
 * never counted twice, and nobody without the key can take the id first. The key is bound to the
 * request it was first used for ({@link PosRequests}). Answers carry the wire acknowledgement as
 * JSON: 200 accepted or duplicate, 422 rejected (with the reason), 400 bad request, 401 unknown key;
 * and an {@code {"error"}}: 422 for a key first used for another request, 409 while a request with
 * the same key is still being decided here. The answer is sent after the store synced the decision.
 */
public final class PosApi {
    static final String PATH = "/api/v1/stamps";
    static final Pattern IDEMPOTENCY_KEY = Pattern.compile("[\\x21-\\x7E]{1,128}");
    private static final int MAX_BODY = 4096;

    /** location -> the API key's bytes, which key the event ids ({@link #eventId}) */
    private final Map<String, byte[]> idKeys = new java.util.TreeMap<>();
    private final EventProcessor processor;
    private final SinkStore store;
    private final Topics topics;
    private final Clock clock;
    private final WireCodec codec = new WireCodec();
    private final PosRequests requests;
    private final Runnable beforeDeciding;
    /**
     * location + key of the requests this instance is deciding now: a retry that arrives meanwhile
     * answers 409 instead of racing the first. Another instance's in-progress request is not seen
     * here; the key binding and the event id still keep the two to one stamp.
     */
    private final java.util.Set<String> inFlight = ConcurrentHashMap.newKeySet();

    /** @param keys location -> API key (the router checked it; here it keys the event ids) */
    public PosApi(Map<String, String> keys, EventProcessor processor, SinkStore store, Topics topics, Clock clock) {
        this(keys, processor, store, topics, clock, () -> { });
    }

    /** @param beforeDeciding runs after the key is bound and before the stamp is decided: tests hold a request there */
    PosApi(Map<String, String> keys, EventProcessor processor, SinkStore store, Topics topics, Clock clock,
            Runnable beforeDeciding) {
        this.beforeDeciding = beforeDeciding;
        keys.forEach((location, key) -> idKeys.put(location, key.getBytes(StandardCharsets.UTF_8)));
        this.processor = processor;
        this.store = store;
        this.requests = new PosRequests(store);
        this.topics = topics;
        this.clock = clock;
    }

    public void register(Router router) {
        router.post(PATH, Access.POS, this::handle);
    }

    private void handle(Exchange ex) {
        String location = ex.caller().location();
        String idempotencyKey = idempotencyKey(ex, "the same for every retry of one stamp");
        TillStamp request = TillStamp.parse(ex.jsonObject(MAX_BODY));
        String inFlightKey = location + "\n" + idempotencyKey;
        if (!inFlight.add(inFlightKey)) {
            throw Problem.conflict("a request with Idempotency-Key '" + idempotencyKey
                    + "' is still in progress; retry once it has been answered");
        }
        try {
            String hash = requestHash(request.cardCode(), request.kind());
            if (!hash.equals(requests.bind(location, idempotencyKey, hash, clock.instant()))) {
                throw new Problem(422, "Idempotency-Key '" + idempotencyKey + "' was first used "
                        + "for another request (another card code or kind); use a new key for a new stamp");
            }
            beforeDeciding.run();
            stamp(ex, location, idempotencyKey, request);
        } finally {
            inFlight.remove(inFlightKey);
        }
    }

    /** The header every till request carries; 400 when missing or malformed. */
    static String idempotencyKey(Exchange ex, String retries) {
        String key = ex.header("Idempotency-Key");
        if (key == null || !IDEMPOTENCY_KEY.matcher(key).matches()) {
            throw Problem.badRequest("the header Idempotency-Key is required: 1 to 128 printable characters, " + retries);
        }
        return key;
    }

    /** The body of {@code POST /api/v1/stamps}: {@code {"cardCode":"7S1....","kind":"stamp"|"redeem"}}. */
    record TillStamp(String cardCode, String[] parts, String kind) {
        static TillStamp parse(JsonNode body) {
            JsonNode code = body.get("cardCode");
            JsonNode kind = body.get("kind");
            String kindText = kind == null ? "stamp" : kind.isTextual() ? kind.asText() : "";
            String[] parts = code != null && code.isTextual() ? code.asText().split("\\.") : new String[0];
            if (parts.length != 5 || code.asText().length() > CardCode.MAX_LENGTH
                    || !(kindText.equals("stamp") || kindText.equals("redeem"))) {
                throw Problem.badRequest("the body must be {\"cardCode\":\"7S1....\",\"kind\":\"stamp\"|\"redeem\"}");
            }
            return new TillStamp(code.asText(), parts, kindText);
        }
    }

    /** Decides the till's stamp or redeem through the processor and answers it, after the store synced. */
    private void stamp(Exchange ex, String location, String idempotencyKey, TillStamp request) {
        String device = EventProcessor.POS_DEVICE_PREFIX + location;
        String eventId = eventId(idKeys.get(location), location, idempotencyKey);
        String[] parts = request.parts();
        StampEvent event = new StampEvent(WireCodec.SCHEMA, eventId, device, 1, request.cardCode(),
                parts[2], parts[3], location, clock.instant(), 1, "pos", true,
                request.kind().equals("stamp") ? EventKind.STAMP : EventKind.REDEEM);
        Optional<Outbound> answer = processor.process(topics.stamps(device), codec.encode(event));
        if (answer.isEmpty()) {
            throw Problem.badRequest("the stamp could not be used (see the sink's log and dead letters); "
                    + "is " + device + " missing from devices.allowed?");
        }
        store.sync();
        int status = answer.get().ack().outcome() == AckOutcome.REJECTED ? 422 : 200;
        ex.jsonBytes(status, answer.get().payload());
    }

    /**
     * What a key is bound to: SHA-256 of the route and the request's meaning (card code and kind),
     * not its bytes, so a till that writes the same request with other spacing or field order retries it.
     */
    static String requestHash(String cardCode, String kind) {
        try {
            byte[] hash = MessageDigest.getInstance("SHA-256")
                    .digest(("POST " + PATH + "\n" + cardCode + "\n" + kind).getBytes(StandardCharsets.UTF_8));
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
    static String eventId(byte[] apiKey, String location, String idempotencyKey) {
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

}
