package app.sevenstamp.autopilot.sink.console;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Failed sign-ins, per account name and per client address, in a sliding window: after too many, the
 * name (or the address) is refused until the oldest failure leaves the window, whatever the password.
 * Guessing a password at the console's pace (five per quarter hour per name) takes longer than any
 * shop exists. In memory: a restart forgets, which costs an attacker a restart of the sink per window.
 */
final class LoginThrottle {
    private final Clock clock;
    private final Duration window;
    private final int perName;
    private final int perAddress;
    private final Map<String, Deque<Instant>> failures = new LinkedHashMap<>(16, 0.75f, true) {
        @Override
        protected boolean removeEldestEntry(Map.Entry<String, Deque<Instant>> eldest) {
            return size() > 10_000; // bounded: a flood of names cannot grow the heap
        }
    };

    LoginThrottle(Clock clock, Duration window, int perName, int perAddress) {
        this.clock = clock;
        this.window = window;
        this.perName = perName;
        this.perAddress = perAddress;
    }

    /** How long until this name and address may try again; zero when they may now. */
    synchronized Duration wait(String name, String address) {
        Instant now = clock.instant();
        Duration a = wait("n:" + name, perName, now);
        Duration b = wait("a:" + address, perAddress, now);
        return a.compareTo(b) >= 0 ? a : b;
    }

    synchronized void failed(String name, String address) {
        Instant now = clock.instant();
        failures.computeIfAbsent("n:" + name, k -> new ArrayDeque<>()).addLast(now);
        failures.computeIfAbsent("a:" + address, k -> new ArrayDeque<>()).addLast(now);
    }

    synchronized void succeeded(String name) {
        failures.remove("n:" + name);
    }

    private Duration wait(String key, int limit, Instant now) {
        Deque<Instant> d = failures.get(key);
        if (d == null) {
            return Duration.ZERO;
        }
        while (!d.isEmpty() && !d.peekFirst().plus(window).isAfter(now)) {
            d.removeFirst();
        }
        if (d.size() < limit) {
            return Duration.ZERO;
        }
        return Duration.between(now, d.peekFirst().plus(window));
    }
}
