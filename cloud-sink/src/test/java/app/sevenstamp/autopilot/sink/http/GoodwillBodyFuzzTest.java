package app.sevenstamp.autopilot.sink.http;

import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import app.sevenstamp.autopilot.protocol.support.ConfigException;
import app.sevenstamp.autopilot.protocol.testing.MutableClock;
import app.sevenstamp.autopilot.protocol.testing.Vectors;
import app.sevenstamp.autopilot.sink.config.VoucherPlan;
import app.sevenstamp.autopilot.sink.store.LedgerHook;
import app.sevenstamp.autopilot.sink.store.SinkStore;
import app.sevenstamp.autopilot.sink.testing.FuzzStores;
import app.sevenstamp.autopilot.sink.voucher.PosCodePool;
import app.sevenstamp.autopilot.sink.voucher.Voucher;
import app.sevenstamp.autopilot.sink.voucher.VoucherIssuer;
import app.sevenstamp.autopilot.sink.voucher.VoucherMetrics;
import com.code_intelligence.jazzer.junit.FuzzTest;
import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;
import java.time.Duration;
import java.time.Instant;
import java.util.Map;
import java.util.Set;

/**
 * Jazzer target for the body of {@code POST /api/v1/vouchers} (a goodwill voucher): its {@code valid} and
 * {@code from} fields through the route's own parsers ({@link VoucherApi#validity}, {@link VoucherApi#from}),
 * then with its {@code operator} (which the route does not check) into the real {@link VoucherIssuer} on an
 * H2 store, as the route does. Properties: a field is parsed
 * or refused with a ConfigException (a 400); what parses is a validity within 0..3650 days; and an issue
 * with parsed fields ends in a voucher or a {@link VoucherIssuer.Refused} (a 409), never another exception,
 * which the route would answer 500 or, from the store, 503 "retry".
 *
 * <p>The rest of the body (title, reason, cardId, cardCode, location) is checked inline in VoucherApi's
 * private handler; fuzzing that needs a public parse of the whole body (see docs/fuzzing.md).
 */
class GoodwillBodyFuzzTest {
    private static final Instant NOW = Instant.parse("2026-11-23T08:00:00Z");
    private static SinkStore store;
    private static VoucherIssuer issuer;

    private static synchronized VoucherIssuer issuer() {
        if (issuer == null) {
            store = FuzzStores.open("goodwill-fuzz");
            VoucherMetrics metrics = new VoucherMetrics();
            issuer = new VoucherIssuer(store, new PosCodePool(store, null, 0, metrics),
                    Map.of("coffee", new VoucherPlan("Free coffee", Duration.ofDays(90))), metrics, new MutableClock(NOW),
                    new SecureRandom(), Vectors.verifier(), Set.of("coffee"), LedgerHook.NONE);
        }
        return issuer;
    }

    @FuzzTest(maxDuration = "10s")
    void validAndFromParseOrAreRefusedAndWhatParsesIsIssuedOrRefused(byte[] body) {
        // "<valid>\n<from>\n<operator>": a corpus file is readable and editable as text
        String[] fields = new String(body, StandardCharsets.UTF_8).split("\n", 3);
        String valid = fields[0];
        String from = fields.length > 1 ? fields[1] : "";
        String operator = fields.length > 2 ? fields[2] : "admin"; // the route takes any text, as long as the body
        Duration validity;
        Instant start;
        try {
            validity = VoucherApi.validity(valid);
            start = VoucherApi.from(from);
        } catch (ConfigException e) {
            assertNotNull(e.getMessage());
            return;
        }
        assertTrue(!validity.isNegative() && validity.compareTo(Duration.ofDays(3650)) <= 0, "valid " + validity);
        try {
            Voucher v = issuer().goodwill(new VoucherIssuer.Goodwill("Sorry", null, validity, start, null, "fuzz", operator));
            assertNotNull(v.code());
        } catch (VoucherIssuer.Refused e) {
            assertNotNull(e.getMessage());
        }
    }
}
