package app.sevenstamp.autopilot.gateway.scan;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Map;

/**
 * Synthesises what a keyboard-mode scanner's evdev device delivers when it types a text: the
 * {@code struct input_event} records (16 or 24 bytes, little-endian) of a real USB keyboard, with
 * EV_MSC scan codes, key down, key up and SYN_REPORT, Shift pressed around shifted characters.
 *
 * <p>The key positions are written out here independently of the production {@link KeyLayout} tables
 * (for the characters of card codes: letters, digits, '.', '_', '-'), so a wrong production table fails
 * the tests instead of agreeing with itself.
 */
final class EvdevStreams {
    static final int EV_SYN = 0;
    static final int EV_KEY = 1;
    static final int EV_MSC = 4;
    static final int KEY_LEFTSHIFT = 42;
    static final int KEY_ENTER = 28;
    static final int KEY_TAB = 15;
    static final int KEY_CAPSLOCK = 58;

    /** A key and whether Shift is needed for the character. */
    record Stroke(int code, boolean shift) {
    }

    private static final String US_LETTERS = "qwertyuiop" + "asdfghjkl" + "zxcvbnm";
    private static final int[] LETTER_CODES = {16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 30, 31, 32, 33, 34, 35, 36,
        37, 38, 44, 45, 46, 47, 48, 49, 50};

    private EvdevStreams() {
    }

    /** The stroke for one character of a card code, as a person with that keyboard would type it. */
    static Stroke stroke(KeyLayout layout, char c) {
        char lower = Character.toLowerCase(c);
        boolean upper = Character.isUpperCase(c);
        if (lower >= 'a' && lower <= 'z') {
            char onUsKey = switch (layout) {
                case US -> lower;
                case DE -> Map.of('z', 'y', 'y', 'z').getOrDefault(lower, lower);
                case FR -> Map.of('a', 'q', 'q', 'a', 'z', 'w', 'w', 'z', 'm', ';').getOrDefault(lower, lower);
            };
            int code = onUsKey == ';' ? 39 : LETTER_CODES[US_LETTERS.indexOf(onUsKey)];
            return new Stroke(code, upper);
        }
        if (c >= '0' && c <= '9') {
            int code = c == '0' ? 11 : 2 + (c - '1');
            return new Stroke(code, layout == KeyLayout.FR); // AZERTY: digits are shifted
        }
        return switch (layout) {
            case US -> switch (c) {
                case '.' -> new Stroke(52, false);
                case '-' -> new Stroke(12, false);
                case '_' -> new Stroke(12, true);
                default -> throw new IllegalArgumentException("no stroke for " + c);
            };
            case DE -> switch (c) {
                case '.' -> new Stroke(52, false);
                case '-' -> new Stroke(53, false);
                case '_' -> new Stroke(53, true);
                default -> throw new IllegalArgumentException("no stroke for " + c);
            };
            case FR -> switch (c) {
                case '.' -> new Stroke(51, true);
                case '-' -> new Stroke(7, false);
                case '_' -> new Stroke(9, false);
                default -> throw new IllegalArgumentException("no stroke for " + c);
            };
        };
    }

    /** A stream builder for one struct size. */
    static final class Stream {
        private final EventSize size;
        private final ByteArrayOutputStream out = new ByteArrayOutputStream();
        private long micros = 1_700_000_000_000_000L;

        Stream(EventSize size) {
            this.size = size;
        }

        Stream event(int type, int code, int value) {
            micros += 1234; // time moves, so misread timestamp bytes would show up as garbage events
            ByteBuffer b = ByteBuffer.allocate(size.bytes()).order(ByteOrder.LITTLE_ENDIAN);
            if (size == EventSize.BYTES_24) {
                b.putLong(micros / 1_000_000).putLong(micros % 1_000_000);
            } else {
                b.putInt((int) (micros / 1_000_000)).putInt((int) (micros % 1_000_000));
            }
            b.putShort((short) type).putShort((short) code).putInt(value);
            out.writeBytes(b.array());
            return this;
        }

        Stream key(int code, int value) {
            event(EV_MSC, 4, 0x70000 + code); // MSC_SCAN, as a USB keyboard sends before each key
            event(EV_KEY, code, value);
            return event(EV_SYN, 0, 0);
        }

        Stream press(int code) {
            return key(code, 1).key(code, 0);
        }

        /** Types the text; with CapsLock on, letters are typed without Shift and come out inverted. */
        Stream type(KeyLayout layout, String text) {
            for (char c : text.toCharArray()) {
                Stroke s = stroke(layout, c);
                if (s.shift()) {
                    key(KEY_LEFTSHIFT, 1);
                }
                press(s.code());
                if (s.shift()) {
                    key(KEY_LEFTSHIFT, 0);
                }
            }
            return this;
        }

        Stream enter() {
            return press(KEY_ENTER);
        }

        Stream tab() {
            return press(KEY_TAB);
        }

        Stream capsLock() {
            return press(KEY_CAPSLOCK);
        }

        Stream synDropped() {
            return event(EV_SYN, 3, 0);
        }

        byte[] bytes() {
            return out.toByteArray();
        }
    }
}
