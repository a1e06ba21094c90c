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
import app.sevenstamp.autopilot.sink.store.StoreException;
import com.fasterxml.jackson.databind.JsonNode;
import com.sun.net.httpserver.HttpExchange;
import java.io.IOException;
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

    private final Map<String, byte[]> keys;
    /** location -> the API key's bytes, which key the event ids ({@link #eventId}) */
    private final Map<String, byte[]> idKeys = new java.util.TreeMap<>();
    private final EventProcessor processor;
    private final SinkStore store;
    private final Topics topics;
    private final Clock clock;
    private final WireCodec codec = new WireCodec();
    private final PosRequests requests;
    /**
     * location + key of the requests this instance is deciding now: a retry that arrives meanwhile
     * answers 409 instead of racing the first. Another instance's in-progress request is not seen
     * here; the key binding and the event id still keep the two to one stamp. Note: HttpApi's
     * executor runs one request at a time until 100 wait, so within one instance the two overlap
     * only then.
     */
    private final Set<String> inFlight = ConcurrentHashMap.newKeySet();

    /** @param keys location -> API key */
    public PosApi(Map<String, String> keys, EventProcessor processor, SinkStore store, Topics topics, Clock clock) {
        this.keys = new java.util.TreeMap<>();
        keys.forEach((location, key) -> this.keys.put(location, ("Bearer " + key).getBytes(StandardCharsets.UTF_8)));
        keys.forEach((location, key) -> idKeys.put(location, key.getBytes(StandardCharsets.UTF_8)));
        this.processor = processor;
        this.store = store;
        this.requests = new PosRequests(store);
        this.topics = topics;
        this.clock = clock;
    }

    public void register(HttpApi http) {
        http.route(PATH, this::handle);
    }

    private void handle(HttpExchange ex) throws IOException {
        try (ex) {
            if (!ex.getRequestMethod().equals("POST") || !ex.getRequestURI().getPath().equals(PATH)) {
                ex.getResponseHeaders().set("Allow", "POST");
                JsonExchange.send(ex, 405, Map.of("error", "use POST " + PATH));
                return;
            }
            Optional<String> location = location(ex.getRequestHeaders().getFirst("Authorization"));
            if (location.isEmpty()) {
                JsonExchange.send(ex, 401, Map.of("error", "unknown API key; send 'Authorization: Bearer <pos.<location>.apiKey>'"));
                return;
            }
            String idempotencyKey = ex.getRequestHeaders().getFirst("Idempotency-Key");
            if (idempotencyKey == null || !IDEMPOTENCY_KEY.matcher(idempotencyKey).matches()) {
                JsonExchange.send(ex, 400, Map.of("error", "the header Idempotency-Key is required: 1 to 128 printable characters, "
                        + "the same for every retry of one stamp"));
                return;
            }
            JsonNode body = JsonExchange.objectOrNull(ex, MAX_BODY);
            String code = body == null ? null : body.path("cardCode").asText(null);
            String[] parts = code == null ? new String[0] : code.split("\\.");
            String kindText = body == null ? "stamp" : body.path("kind").asText("stamp");
            boolean kindOk = kindText.equals("stamp") || kindText.equals("redeem");
            if (parts.length != 5 || code.length() > CardCode.MAX_LENGTH || !kindOk) {
                JsonExchange.send(ex, 400, Map.of("error", "the body must be {\"cardCode\":\"7S1....\",\"kind\":\"stamp\"|\"redeem\"}"));
                return;
            }
            String inFlightKey = location.get() + "\n" + idempotencyKey;
            if (!inFlight.add(inFlightKey)) {
                JsonExchange.send(ex, 409, Map.of("error", "a request with Idempotency-Key '" + idempotencyKey
                        + "' is still in progress; retry once it has been answered"));
                return;
            }
            try {
                String hash = requestHash(code, kindText);
                if (!hash.equals(requests.bind(location.get(), idempotencyKey, hash, clock.instant()))) {
                    JsonExchange.send(ex, 422, Map.of("error", "Idempotency-Key '" + idempotencyKey + "' was first used "
                            + "for another request (another card code or kind); use a new key for a new stamp"));
                    return;
                }
                stamp(ex, location.get(), idempotencyKey, code, parts, kindText);
            } finally {
                inFlight.remove(inFlightKey);
            }
        } catch (StoreException e) {
            Logger.error("POS {}: {}", ex.getRequestURI(), e.getMessage());
            JsonExchange.trySendError(ex, 503, "the card store is unavailable; retry with the same Idempotency-Key");
        } catch (RuntimeException e) {
            Logger.error(e, "POS {} failed", ex.getRequestURI());
            JsonExchange.trySendError(ex, 500, "internal error; retry with the same Idempotency-Key");
        }
    }

    /** Decides the till's stamp or redeem through the processor and answers it, after the store synced. */
    private void stamp(HttpExchange ex, String location, String idempotencyKey, String code, String[] parts, String kindText)
            throws IOException {
        String device = EventProcessor.POS_DEVICE_PREFIX + location;
        String eventId = eventId(idKeys.get(location), location, idempotencyKey);
        StampEvent event = new StampEvent(WireCodec.SCHEMA, eventId, device, 1, code,
                parts[2], parts[3], location, clock.instant(), 1, "pos", true,
                kindText.equals("stamp") ? EventKind.STAMP : EventKind.REDEEM);
        Optional<Outbound> answer = processor.process(topics.stamps(device), codec.encode(event));
        if (answer.isEmpty()) {
            JsonExchange.send(ex, 400, Map.of("error", "the stamp could not be used (see the sink's log and dead letters); "
                    + "is " + device + " missing from devices.allowed?"));
            return;
        }
        store.sync();
        int status = answer.get().ack().outcome() == AckOutcome.REJECTED ? 422 : 200;
        JsonExchange.sendBytes(ex, status, answer.get().payload());
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

    /** Which location the key belongs to; every key is compared, in constant time. */
    private Optional<String> location(String authorization) {
        return location(keys, authorization);
    }

    /** The location whose key ({@code Bearer <key>} bytes) is {@code authorization}; every key is compared, in constant time. */
    static Optional<String> location(Map<String, byte[]> keys, String authorization) {
        if (authorization == null) {
            return Optional.empty();
        }
        byte[] given = authorization.getBytes(StandardCharsets.UTF_8);
        String found = null;
        for (Map.Entry<String, byte[]> e : keys.entrySet()) {
            if (MessageDigest.isEqual(e.getValue(), given)) {
                found = e.getKey();
            }
        }
        return Optional.ofNullable(found);
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
