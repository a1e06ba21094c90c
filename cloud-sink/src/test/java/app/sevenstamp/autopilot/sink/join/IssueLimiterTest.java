package app.sevenstamp.autopilot.sink.join;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import app.sevenstamp.autopilot.sink.config.JoinSettings.Rate;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

class IssueLimiterTest {
    private final AtomicLong nanos = new AtomicLong(1_000);

    @Test
    void anAddressGetsItsBurstThenOneCardPerRefillWithRetryAfter() {
        IssueLimiter limiter = new IssueLimiter(new Rate(5, Duration.ofMinutes(1)), new Rate(300, Duration.ofHours(1)), nanos::get);
        for (int i = 0; i < 5; i++) {
            assertTrue(limiter.tryIssue("coffee", "203.0.113.7").allowed(), "card " + (i + 1));
        }
        IssueLimiter.Verdict sixth = limiter.tryIssue("coffee", "203.0.113.7");
        assertFalse(sixth.allowed());
        assertEquals(12, sixth.retryAfterSeconds(), "5 per minute: one token every 12 s");
        assertEquals("join.perAddress=5/1m", sixth.limit());
        assertTrue(limiter.tryIssue("coffee", "203.0.113.8").allowed(), "another address is not affected");
        nanos.addAndGet(Duration.ofSeconds(11).toNanos());
        assertFalse(limiter.tryIssue("coffee", "203.0.113.7").allowed());
        nanos.addAndGet(Duration.ofSeconds(1).toNanos());
        assertTrue(limiter.tryIssue("coffee", "203.0.113.7").allowed(), "a token after 12 s");
        assertFalse(limiter.tryIssue("coffee", "203.0.113.7").allowed());
    }

    @Test
    void aProgramIsLimitedWhoeverAsksAndARefusalTakesNoToken() {
        IssueLimiter limiter = new IssueLimiter(new Rate(5, Duration.ofMinutes(1)), new Rate(10, Duration.ofHours(1)), nanos::get);
        int allowed = 0;
        for (int i = 0; i < 1000; i++) {
            if (limiter.tryIssue("coffee", "198.51.100." + (i % 250)).allowed()) {
                allowed++;
            }
        }
        assertEquals(10, allowed);
        IssueLimiter.Verdict v = limiter.tryIssue("coffee", "192.0.2.1");
        assertEquals("join.perProgram=10/1h", v.limit());
        assertEquals(360, v.retryAfterSeconds());
        assertTrue(limiter.tryIssue("tea", "192.0.2.1").allowed(), "another program has its own bucket");
        assertTrue(limiter.trackedAddresses() <= 11, "only addresses that got a card are tracked: " + limiter.trackedAddresses());
    }

    @Test
    void anIpv6ClientCountsByItsSlash64() {
        IssueLimiter limiter = new IssueLimiter(new Rate(2, Duration.ofMinutes(1)), new Rate(300, Duration.ofHours(1)), nanos::get);
        assertTrue(limiter.tryIssue("coffee", "2001:db8:1:2::1").allowed());
        assertTrue(limiter.tryIssue("coffee", "2001:db8:1:2:ffff::9").allowed());
        assertFalse(limiter.tryIssue("coffee", "[2001:db8:1:2:aaaa:bbbb:cccc:dddd]").allowed(), "same /64");
        assertTrue(limiter.tryIssue("coffee", "2001:db8:1:3::1").allowed(), "another /64");
        assertEquals("2001:db8:1:2::/64", IssueLimiter.clientKey("2001:0db8:0001:0002:0:0:0:1"));
        assertEquals("203.0.113.7", IssueLimiter.clientKey("203.0.113.7"));
    }

    @Test
    void idleAddressesAreDroppedSoTheTableStaysBounded() {
        IssueLimiter limiter = new IssueLimiter(new Rate(1, Duration.ofSeconds(1)), new Rate(1_000_000, Duration.ofSeconds(1)), nanos::get);
        for (int i = 0; i < 3 * IssueLimiter.SWEEP_AT; i++) {
            assertTrue(limiter.tryIssue("coffee", "10." + (i >> 16 & 255) + "." + (i >> 8 & 255) + "." + (i & 255)).allowed());
            nanos.addAndGet(Duration.ofMillis(1).toNanos());
        }
        assertTrue(limiter.trackedAddresses() <= IssueLimiter.SWEEP_AT + 1000, "tracked: " + limiter.trackedAddresses());
    }

    @Test
    void zeroPerAddressIsNoLimitPerAddress() {
        IssueLimiter limiter = new IssueLimiter(new Rate(0, Duration.ofMinutes(1)), new Rate(50, Duration.ofHours(1)), nanos::get);
        for (int i = 0; i < 50; i++) {
            assertTrue(limiter.tryIssue("coffee", "10.0.0.1").allowed());
        }
        assertEquals("join.perProgram=50/1h", limiter.tryIssue("coffee", "10.0.0.1").limit());
        assertEquals(0, limiter.trackedAddresses());
    }
}
