package app.sevenstamp.autopilot.protocol;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.Map;
import org.junit.jupiter.api.Test;

class RedeemWireTest {
    private final WireCodec codec = new WireCodec();

    @Test
    void redeemRequestAnswerAndRulesRoundTrip() throws Exception {
        RedeemRequest req = new RedeemRequest(1, "0193a5b0-0000-7000-8000-000000000001", "gw-1", RedeemRequest.Action.REDEEM,
                "7V-ABCD-EFGH-JKMN-PQRS", "shop-1", Instant.parse("2026-11-23T10:00:00Z"));
        assertEquals(req, codec.decode(codec.encode(req), RedeemRequest.class));
        RedeemAnswer ans = new RedeemAnswer(1, req.requestId(), "gw-1", RedeemOutcome.REDEEMED, req.voucherCode(),
                "Free coffee", "POS-0042", Instant.parse("2026-12-31T23:59:59Z"));
        assertEquals(ans, codec.decode(codec.encode(ans), RedeemAnswer.class));
        CounterRules rules = new CounterRules(1, 3, Map.of("coffee", new CounterRules.Limits(600, 2, "Europe/Berlin")));
        assertEquals(rules, codec.decode(codec.encode(rules), CounterRules.class));
    }

    @Test
    void anOutcomeFromANewerSinkReadsAsOther() throws Exception {
        String json = "{\"schema\":1,\"requestId\":\"r1\",\"deviceId\":\"gw-1\",\"outcome\":\"SOLD_OUT\","
                + "\"voucherCode\":\"7V-ABCD-EFGH-JKMN-PQRS\"}";
        assertEquals(RedeemOutcome.OTHER,
                codec.decode(json.getBytes(StandardCharsets.UTF_8), RedeemAnswer.class).outcome());
    }

    @Test
    void aRequestWithoutItsCodeIsMalformed() {
        String json = "{\"schema\":1,\"requestId\":\"r1\",\"deviceId\":\"gw-1\",\"action\":\"REDEEM\","
                + "\"location\":\"shop-1\",\"deviceTime\":\"2026-11-23T10:00:00Z\"}";
        MalformedMessageException e = assertThrows(MalformedMessageException.class,
                () -> codec.decode(json.getBytes(StandardCharsets.UTF_8), RedeemRequest.class));
        assertEquals("field", e.kind());
    }
}
