package app.sevenstamp.autopilot.gateway.scan;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** Time is driven by hand through the injected ticker: no sleeping. */
class DebouncerTest {
    private long now = 1_000_000_000L;
    private final List<Frame> out = new ArrayList<>();
    private final Debouncer debouncer = new Debouncer(Duration.ofMillis(1500), () -> now, out::add);

    private void at(long millis, String text) {
        now = 1_000_000_000L + TimeUnit.MILLISECONDS.toNanos(millis);
        debouncer.accept(new Frame.Text(text));
    }

    @Test
    void theSameCodeTwiceWithinTheWindowIsOneScan() {
        at(0, "CARD");
        at(300, "CARD");
        assertEquals(List.of(new Frame.Text("CARD")), out);
        assertEquals(1, debouncer.suppressed());
    }

    @Test
    void theWindowSlidesWhileTheCardIsHeldUnderTheScanner() {
        for (int t = 0; t <= 6000; t += 500) {
            at(t, "CARD");
        }
        assertEquals(1, out.size(), "a card held for 6 s and read every 0.5 s is one scan");
        at(6000 + 1500, "CARD");
        assertEquals(2, out.size(), "1.5 s after the last read it counts again");
    }

    @Test
    void anotherCodeIsNeverDebouncedAndEndsTheWindow() {
        at(0, "A");
        at(100, "B");
        at(200, "A");
        assertEquals(List.of(new Frame.Text("A"), new Frame.Text("B"), new Frame.Text("A")), out);
    }

    @Test
    void overlongFramesAreNeverDebounced() {
        debouncer.accept(new Frame.Overlong(300, 256));
        debouncer.accept(new Frame.Overlong(300, 256));
        assertEquals(2, out.size());
    }

    @Test
    void aZeroWindowTurnsItOff() {
        List<Frame> all = new ArrayList<>();
        Debouncer off = new Debouncer(Duration.ZERO, () -> 5L, all::add);
        off.accept(new Frame.Text("A"));
        off.accept(new Frame.Text("A"));
        assertEquals(2, all.size());
    }

    @Test
    void justOutsideTheWindowCountsAgain() {
        at(0, "CARD");
        at(1500, "CARD");
        assertEquals(2, out.size());
    }
}
