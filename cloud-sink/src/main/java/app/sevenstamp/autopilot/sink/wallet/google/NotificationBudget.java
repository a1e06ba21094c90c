package app.sevenstamp.autopilot.sink.wallet.google;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.HashMap;
import java.util.Iterator;
import java.util.Map;

/**
 * Google's limit on a pass: at most {@link #PER_DAY} notifications in any 24 hours (more are dropped
 * by Google, or throttle the issuer). Counted here per card in a sliding window, in memory: after a
 * restart a card may get its three again, which Google then drops; nothing worse.
 *
 * <p>Memory: only cards notified in the last 24 hours are kept; older entries are swept on use.
 * Threads: any thread; every method is synchronized and does no I/O.
 */
final class NotificationBudget {
    static final int PER_DAY = 3;
    static final Duration WINDOW = Duration.ofHours(24);

    private final Clock clock;
    private final Map<String, Deque<Instant>> sent = new HashMap<>();
    private Instant lastSweep = Instant.MIN;

    NotificationBudget(Clock clock) {
        this.clock = clock;
    }

    /** Takes one notification for the card if its window has room; {@link #giveBack} if the send then fails. */
    synchronized boolean tryTake(String cardId) {
        Instant now = clock.instant();
        sweep(now);
        Deque<Instant> times = sent.computeIfAbsent(cardId, k -> new ArrayDeque<>());
        drop(times, now);
        if (times.size() >= PER_DAY) {
            return false;
        }
        times.addLast(now);
        return true;
    }

    synchronized void giveBack(String cardId) {
        Deque<Instant> times = sent.get(cardId);
        if (times != null && !times.isEmpty()) {
            times.removeLast();
        }
    }

    synchronized int cardsTracked() {
        return sent.size();
    }

    private static void drop(Deque<Instant> times, Instant now) {
        // a clock set back keeps the entries: the window counts from their recorded times, so it lasts longer, never shorter
        while (!times.isEmpty() && !times.peekFirst().plus(WINDOW).isAfter(now)) {
            times.removeFirst();
        }
    }

    private void sweep(Instant now) {
        if (lastSweep.isAfter(now.minus(Duration.ofMinutes(10)))) {
            return;
        }
        lastSweep = now;
        for (Iterator<Deque<Instant>> it = sent.values().iterator(); it.hasNext();) {
            Deque<Instant> times = it.next();
            drop(times, now);
            if (times.isEmpty()) {
                it.remove();
            }
        }
    }
}
