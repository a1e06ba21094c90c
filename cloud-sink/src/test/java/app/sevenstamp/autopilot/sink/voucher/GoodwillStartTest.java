package app.sevenstamp.autopilot.sink.voucher;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import app.sevenstamp.autopilot.protocol.testing.MutableClock;
import app.sevenstamp.autopilot.protocol.testing.Vectors;
import app.sevenstamp.autopilot.sink.config.VoucherPlan;
import app.sevenstamp.autopilot.sink.store.H2Database;
import app.sevenstamp.autopilot.sink.store.LedgerHook;
import app.sevenstamp.autopilot.sink.store.SinkStore;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Duration;
import java.time.Instant;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A goodwill voucher's start ({@code from} in the API, --from on the command line) is refused beyond 3650 days
 * from now either way. Found by GoodwillBodyFuzzTest: a start the API parses, such as
 * {@code +1000000000-12-31T00:00:00Z}, overflowed {@code from + valid} (DateTimeException: a 500), and a start
 * beyond what the store keeps would have failed in the database and been answered 503 "retry".
 */
class GoodwillStartTest {
    private static final Instant NOW = Instant.parse("2026-11-23T08:00:00Z");

    @TempDir
    Path dir;
    private SinkStore store;
    private VoucherIssuer issuer;

    @BeforeEach
    void open() {
        store = SinkStore.open(H2Database.open(dir.resolve("sink"), SinkStore.DEFAULT_POOL_SIZE));
        VoucherMetrics metrics = new VoucherMetrics();
        issuer = new VoucherIssuer(store, new PosCodePool(store, null, 0, metrics),
                Map.of("coffee", new VoucherPlan("Free coffee", Duration.ofDays(90))), metrics, new MutableClock(NOW),
                new SecureRandom(), Vectors.verifier(), Set.of("coffee"), LedgerHook.NONE);
    }

    @AfterEach
    void close() {
        store.close();
    }

    private Voucher issue(Instant from, Duration valid) {
        return issuer.goodwill(new VoucherIssuer.Goodwill("Sorry", null, valid, from, null, "broken machine", "ann"));
    }

    @Test
    void aStartAtTheEndOfTimeIsRefusedNotAnOverflow() {
        VoucherIssuer.Refused e = assertThrows(VoucherIssuer.Refused.class,
                () -> issue(Instant.parse("+1000000000-12-31T00:00:00Z"), Duration.ofDays(30)));
        assertEquals("the voucher would start at +1000000000-12-31T00:00:00Z, more than 3650 days from now "
                + "(2026-11-23T08:00:00Z); choose a start within that", e.getMessage());
    }

    @Test
    void aStartFarInThePastWithoutExpiryIsRefused() {
        assertThrows(VoucherIssuer.Refused.class, () -> issue(Instant.parse("-999999999-01-01T00:00:00Z"), Duration.ZERO));
    }

    @Test
    void aStartWithinTenYearsEitherWayIsIssued() {
        assertEquals(NOW.plus(Duration.ofDays(3650)), issue(NOW.plus(Duration.ofDays(3650)), Duration.ofDays(3650)).validFrom());
        assertEquals(NOW.minus(Duration.ofDays(3650)), issue(NOW.minus(Duration.ofDays(3650)), Duration.ZERO).validFrom());
    }
}
