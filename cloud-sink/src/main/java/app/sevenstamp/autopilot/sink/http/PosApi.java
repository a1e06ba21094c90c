package app.sevenstamp.autopilot.sink.http;

import app.sevenstamp.autopilot.protocol.EventKind;
import app.sevenstamp.autopilot.protocol.card.CardCode;
import app.sevenstamp.autopilot.sink.till.TillDesk;
import app.sevenstamp.autopilot.sink.web.Access;
import app.sevenstamp.autopilot.sink.web.Exchange;
import app.sevenstamp.autopilot.sink.web.Problem;
import app.sevenstamp.autopilot.sink.web.Router;
import com.fasterxml.jackson.databind.JsonNode;
import java.util.regex.Pattern;

/**
 * {@code POST /api/v1/stamps}: the POS channel. A till sends {@code {"cardCode":"7S1...","kind":"stamp"}}
 * with {@code Authorization: Bearer <pos.<location>.apiKey>} and an {@code Idempotency-Key}; the
 * {@link TillDesk} decides it as a stamp of the pseudo-device {@code pos-<location>} through the same
 * processor as a scan. Answers carry the wire acknowledgement as JSON: 200 accepted or duplicate, 422
 * rejected (with the reason), 400 bad request, 401 unknown key; and a problem document: 422 for a key
 * first used for another request, 409 while a request with the same key is still being decided here.
 */
public final class PosApi {
    static final String PATH = "/api/v1/stamps";
    static final Pattern IDEMPOTENCY_KEY = Pattern.compile("[\\x21-\\x7E]{1,128}");
    private static final int MAX_BODY = 4096;

    private final TillDesk desk;

    public PosApi(TillDesk desk) {
        this.desk = desk;
    }

    public void register(Router router) {
        router.post(PATH, Access.POS, this::handle);
    }

    private void handle(Exchange ex) {
        String location = ex.caller().location();
        String idempotencyKey = idempotencyKey(ex, "the same for every retry of one stamp");
        TillStamp request = TillStamp.parse(ex.jsonObject(MAX_BODY));
        TillDesk.Stamped answer;
        try {
            answer = desk.stamp(location, idempotencyKey, request.cardCode(),
                    request.kind().equals("stamp") ? EventKind.STAMP : EventKind.REDEEM)
                    .orElseThrow(() -> Problem.badRequest("the stamp could not be used (see the sink's log and dead "
                            + "letters); is pos-" + location + " missing from devices.allowed?"));
        } catch (TillDesk.InProgress e) {
            throw Problem.conflict(e.getMessage());
        } catch (TillDesk.KeyReused e) {
            throw new Problem(422, e.getMessage());
        }
        ex.jsonBytes(answer.rejected() ? 422 : 200, answer.json());
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
    record TillStamp(String cardCode, String kind) {
        static TillStamp parse(JsonNode body) {
            JsonNode code = body.get("cardCode");
            JsonNode kind = body.get("kind");
            String kindText = kind == null ? "stamp" : kind.isTextual() ? kind.asText() : "";
            String[] parts = code != null && code.isTextual() ? code.asText().split("\\.") : new String[0];
            if (parts.length != 5 || code.asText().length() > CardCode.MAX_LENGTH
                    || !(kindText.equals("stamp") || kindText.equals("redeem"))) {
                throw Problem.badRequest("the body must be {\"cardCode\":\"7S1....\",\"kind\":\"stamp\"|\"redeem\"}");
            }
            return new TillStamp(code.asText(), kindText);
        }
    }
}
