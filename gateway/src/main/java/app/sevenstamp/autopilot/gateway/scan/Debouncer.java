package app.sevenstamp.autopilot.gateway.scan;

import app.sevenstamp.autopilot.gateway.support.Ticker;
import java.time.Duration;
import java.util.Objects;
import java.util.function.Consumer;
import org.tinylog.Logger;

/**
 * Double reads: a scanner in presentation mode reads a card held under it again and again, and a
 * nervous customer presents it twice. The same text again within {@code scanner.debounce} of its last
 * read is the same scan: it is dropped here, before the policy, so it gives no second beep and no second
 * stamp. The window slides: a card held under the scanner for ten seconds is one scan. A different code
 * ends the window at once. Overlong frames are never debounced (each is noise worth a reject signal).
 *
 * <p>Threading: called from the one reader thread of a scan source; synchronized anyway, because in
 * auto mode the source that feeds it may be replaced (never two at a time).
 */
public final class Debouncer implements Consumer<Frame> {
    private final Consumer<Frame> next;
    private final Ticker ticker;
    private final long windowNanos;
    private String last;
    private long lastAt;
    private long suppressed;

    public Debouncer(Duration window, Ticker ticker, Consumer<Frame> next) {
        this.windowNanos = Objects.requireNonNull(window, "window").toNanos();
        this.ticker = Objects.requireNonNull(ticker, "ticker");
        this.next = Objects.requireNonNull(next, "next");
    }

    @Override
    public void accept(Frame frame) {
        if (windowNanos > 0 && frame instanceof Frame.Text text && isRepeat(text.text())) {
            return;
        }
        next.accept(frame);
    }

    private synchronized boolean isRepeat(String text) {
        long now = ticker.nanoTime();
        boolean repeat = text.equals(last) && now - lastAt < windowNanos;
        last = text;
        lastAt = now;
        if (repeat) {
            suppressed++;
            Logger.debug("double read within {} ms ignored ({} so far)", windowNanos / 1_000_000, suppressed);
        }
        return repeat;
    }

    /** Double reads dropped so far. */
    public synchronized long suppressed() {
        return suppressed;
    }
}
