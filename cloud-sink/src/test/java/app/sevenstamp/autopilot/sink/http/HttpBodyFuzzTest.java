package app.sevenstamp.autopilot.sink.http;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import app.sevenstamp.autopilot.protocol.card.CardCode;
import app.sevenstamp.autopilot.sink.store.CardCorrections;
import app.sevenstamp.autopilot.sink.web.Problem;
import com.code_intelligence.jazzer.junit.FuzzTest;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import org.junit.jupiter.api.Tag;

/**
 * Jazzer targets for the JSON bodies of the POS stamp, the operator's corrections and the goodwill
 * voucher, through each route's own parser: a request within its documented bounds, or a 400 problem
 * that says what is wrong; never another exception (a 500) and never a silently changed value.
 */
@Tag("slow")
class HttpBodyFuzzTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    /** The body as the exchange hands it to a route: a JSON object, or null (answered 400 before the route). */
    private static JsonNode object(byte[] bytes) {
        try {
            JsonNode n = JSON.readTree(bytes);
            return n != null && n.isObject() ? n : null;
        } catch (IOException notJson) {
            return null;
        }
    }

    @FuzzTest(maxDuration = "10s")
    void aTillStampIsValidOrA400(byte[] bytes) {
        JsonNode body = object(bytes);
        if (body == null) {
            return;
        }
        PosApi.TillStamp s;
        try {
            s = PosApi.TillStamp.parse(body);
        } catch (Problem e) {
            assertEquals(400, e.status());
            return;
        }
        assertTrue(s.cardCode().length() <= CardCode.MAX_LENGTH && s.cardCode().split("\\.").length == 5, s.cardCode());
        assertTrue(s.kind().equals("stamp") || s.kind().equals("redeem"), s.kind());
        assertEquals(body.get("cardCode").asText(), s.cardCode(), "the code is used as sent");
    }

    @FuzzTest(maxDuration = "10s")
    void aCorrectionIsValidOrA400(byte[] bytes) {
        JsonNode body = object(bytes);
        if (body == null) {
            return;
        }
        AdminApi.Correction c;
        try {
            c = AdminApi.Correction.parse(body, true);
        } catch (Problem e) {
            assertEquals(400, e.status());
            return;
        }
        assertTrue(Math.abs(c.stamps()) <= CardCorrections.MAX_ADJUST && Math.abs(c.rewards()) <= CardCorrections.MAX_ADJUST, c.toString());
        JsonNode stamps = body.get("stamps");
        assertEquals(stamps == null ? 0 : stamps.intValue(), c.stamps(), "never truncated: " + body);
    }

    @FuzzTest(maxDuration = "10s")
    void aGoodwillVoucherIsValidOrA400(byte[] bytes) {
        JsonNode body = object(bytes);
        if (body == null) {
            return;
        }
        VoucherApi.Goodwill g;
        try {
            g = VoucherApi.Goodwill.parse(body);
        } catch (Problem e) {
            assertEquals(400, e.status());
            return;
        }
        assertTrue(!g.title().isEmpty() && g.title().length() <= 80 && g.reason().length() <= 500, g.toString());
        assertTrue(g.cardId() == null || CardCode.CARD_ID.matcher(g.cardId()).matches(), g.toString());
        assertTrue(g.validity() != null, g.toString());
    }
}
