package app.sevenstamp.autopilot.gateway.scan;

import java.nio.charset.StandardCharsets;
import java.util.Objects;
import java.util.function.Consumer;
import org.tinylog.Logger;

/**
 * Turns the byte stream of an evdev device into scans: {@code struct input_event} records (16 or 24
 * bytes, little-endian, possibly split across reads) become key presses, key presses become characters
 * through the scanner's {@link KeyLayout}, and Enter or Tab ends a scan. The characters go through a
 * {@link Framer}, so the length limit and the one-reject-per-overlong-line rule are the serial ones.
 *
 * <p>Only key-down events type (value 1); auto-repeat (2) is ignored, because a scanner never holds a
 * key and a repeat would be a doubled character. Shift, AltGr and Ctrl are tracked as held; CapsLock
 * toggles on its key-down. {@code SYN_DROPPED} means the kernel's buffer overflowed and keys were lost:
 * the partial scan is discarded (a scan with a missing character must not be guessed at), modifiers are
 * released, and events are ignored up to the next {@code SYN_REPORT}, as the evdev documentation says.
 *
 * <p>Not thread-safe: owned by the reader thread of the HID source.
 */
public final class HidDecoder {
    static final int EV_SYN = 0;
    static final int EV_KEY = 1;
    static final int SYN_REPORT = 0;
    static final int SYN_DROPPED = 3;

    private final EventSize size;
    private final KeyLayout layout;
    private final Framer framer;
    private final byte[] pending;
    private int pendingLength;
    private boolean leftShift;
    private boolean rightShift;
    private boolean altGr;
    private boolean ctrl;
    private boolean capsLock;
    private boolean dropping;
    private long droppedScans;

    public HidDecoder(EventSize size, KeyLayout layout, int maxLength) {
        this.size = Objects.requireNonNull(size, "size");
        this.layout = Objects.requireNonNull(layout, "layout");
        // the framer sees UTF-8 of the typed characters and '\n' for Enter and Tab
        this.framer = new Framer(Terminator.LF, maxLength, StandardCharsets.UTF_8, false);
        this.pending = new byte[size.bytes()];
    }

    public void feed(byte[] data, int offset, int count, Consumer<Frame> out) {
        int i = offset;
        int end = offset + count;
        while (i < end) {
            int take = Math.min(size.bytes() - pendingLength, end - i);
            System.arraycopy(data, i, pending, pendingLength, take);
            pendingLength += take;
            i += take;
            if (pendingLength == size.bytes()) {
                pendingLength = 0;
                int t = size.typeOffset();
                int type = u16(pending, t);
                int code = u16(pending, t + 2);
                int value = s32(pending, t + 4);
                event(type, code, value, out);
            }
        }
    }

    /** The device was closed or lost: a half scan and half a struct are worthless now. */
    public void reset() {
        framer.reset();
        pendingLength = 0;
        leftShift = false;
        rightShift = false;
        altGr = false;
        ctrl = false;
        dropping = false;
    }

    /** Scans discarded because of {@code SYN_DROPPED}. */
    public long droppedScans() {
        return droppedScans;
    }

    private void event(int type, int code, int value, Consumer<Frame> out) {
        if (type == EV_SYN) {
            if (code == SYN_DROPPED) {
                if (framer.pending()) {
                    droppedScans++;
                    Logger.warn("keyboard scanner: the kernel dropped input events (SYN_DROPPED); the partial scan is discarded, scan again");
                }
                framer.reset();
                leftShift = false;
                rightShift = false;
                altGr = false;
                ctrl = false;
                dropping = true;
            } else if (code == SYN_REPORT) {
                dropping = false;
            }
            return;
        }
        if (type != EV_KEY || dropping) {
            return; // EV_MSC scan codes, EV_LED, EV_REP: nothing a scan needs
        }
        boolean down = value == 1;
        boolean up = value == 0;
        if (!down && !up) {
            return; // auto-repeat
        }
        switch (code) {
            case KeyLayout.KEY_LEFTSHIFT -> leftShift = down;
            case KeyLayout.KEY_RIGHTSHIFT -> rightShift = down;
            case KeyLayout.KEY_RIGHTALT -> altGr = down;
            case KeyLayout.KEY_LEFTCTRL, KeyLayout.KEY_RIGHTCTRL -> ctrl = down;
            case KeyLayout.KEY_CAPSLOCK -> {
                if (down) {
                    capsLock = !capsLock;
                }
            }
            case KeyLayout.KEY_ENTER, KeyLayout.KEY_KPENTER, KeyLayout.KEY_TAB -> {
                if (down) {
                    framer.feed(NEWLINE, 0, 1, out);
                }
            }
            default -> {
                if (down && !ctrl) {
                    char c = layout.charFor(code, leftShift || rightShift, capsLock, altGr);
                    if (c != 0) {
                        byte[] utf8 = String.valueOf(c).getBytes(StandardCharsets.UTF_8);
                        framer.feed(utf8, 0, utf8.length, out);
                    }
                }
            }
        }
    }

    private static final byte[] NEWLINE = {'\n'};

    private static int u16(byte[] b, int at) {
        return (b[at] & 0xFF) | (b[at + 1] & 0xFF) << 8;
    }

    private static int s32(byte[] b, int at) {
        return (b[at] & 0xFF) | (b[at + 1] & 0xFF) << 8 | (b[at + 2] & 0xFF) << 16 | b[at + 3] << 24;
    }
}
