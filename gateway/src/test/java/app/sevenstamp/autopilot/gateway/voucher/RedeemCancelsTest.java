package app.sevenstamp.autopilot.gateway.voucher;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import app.sevenstamp.autopilot.protocol.RedeemRequest;
import app.sevenstamp.autopilot.protocol.WireCodec;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The CANCELs a box owes, on a hand-driven clock: when each goes out again, and when it stops. */
class RedeemCancelsTest {
    private static final long S = 1_000_000_000L;
    private final List<RedeemRequest> published = new ArrayList<>();
    private final RedeemCancels cancels = new RedeemCancels(Clock.fixed(Instant.parse("2026-12-03T10:00:00Z"), ZoneOffset.UTC),
            published::add);

    private static RedeemRequest redeem(int n) {
        return new RedeemRequest(WireCodec.SCHEMA, String.format("00000000-0000-4000-8000-%012d", n), "counter-1",
                RedeemRequest.Action.REDEEM, "7V-ABCDEFGHJKMNPQR" + n, "shop-1", Instant.parse("2026-12-03T09:59:00Z"));
    }

    @Test
    void aCancelGoesOutAgainAfterTwiceTheWaitUntilConfirmed() {
        cancels.add(redeem(1), 0);
        cancels.tick(true, 0);
        assertEquals(1, published.size());
        assertEquals(RedeemRequest.Action.CANCEL, published.get(0).action(), "the CANCEL of the request, not the REDEEM");
        assertEquals(redeem(1).requestId(), published.get(0).requestId());
        cancels.tick(true, 2 * S - 1);
        assertEquals(1, published.size(), "not before 2 s");
        cancels.tick(true, 2 * S);
        assertEquals(2, published.size());
        cancels.tick(true, 5 * S);
        assertEquals(2, published.size(), "then 4 s later, not 3");
        cancels.tick(true, 6 * S);
        assertEquals(3, published.size());
        for (long t = 7; t < 1000; t++) {
            cancels.tick(true, t * S);
        }
        // 2, 4, 8, 16, 32, 60, 60 ...: about 20 sends in 1000 s, never more than one a minute at the end
        assertTrue(published.size() > 15 && published.size() < 25, "sends: " + published.size());
        assertTrue(cancels.confirmed(redeem(1).requestId()));
        assertFalse(cancels.contains(redeem(1).requestId()));
        int before = published.size();
        cancels.tick(true, 5000 * S);
        assertEquals(before, published.size(), "nothing is owed after the confirmation");
        assertEquals(before, cancels.sent());
    }

    @Test
    void offlineNothingGoesOutAndAReconnectMakesEveryOneDueAtOnceAFewPerTick() {
        for (int i = 0; i < 40; i++) {
            cancels.add(redeem(i), 0);
        }
        cancels.tick(false, 10 * S);
        assertEquals(0, published.size(), "offline");
        cancels.tick(true, 11 * S);
        assertEquals(RedeemCancels.PER_TICK, published.size(), "a backlog goes out a tick's worth at a time");
        cancels.tick(true, 11 * S + 500_000_000L);
        assertEquals(40, published.size());
        cancels.tick(false, 12 * S);
        cancels.tick(true, 12 * S + 1);
        assertEquals(40 + RedeemCancels.PER_TICK, published.size(), "after a reconnect all are due again at once");
        assertEquals(List.of(redeem(0).voucherCode()).size(), cancels.vouchers(1).size());
    }
}
