package app.sevenstamp.autopilot.gateway.scan;

/**
 * The keyboard layout a keyboard-mode scanner is set to ({@code scanner.layout}). A scanner sends key
 * positions, not characters: set to German it presses the key where a German keyboard has 'z' (the US
 * 'y' key) to type 'z'. So the gateway must read with the same layout as the scanner's setting, or
 * {@code 7S1.k1.coffee...} arrives as garbage and is rejected as MALFORMED.
 *
 * <p>Tables follow the Linux console and X11 maps of the layout ({@code us}, {@code de}, {@code fr}) for
 * the keys of the main block and the keypad; dead keys ({@code ´ ^ ¨} in de and fr) type themselves,
 * because a scanner never composes. Keypad keys type digits whatever the layout (NumLock assumed on:
 * scanners in keypad mode expect that). Immutable.
 */
public enum KeyLayout {
    US(new String[] {
        "1234567890-=", "!@#$%^&*()_+", "",
        "qwertyuiop[]", "QWERTYUIOP{}", "",
        "asdfghjkl;'`", "ASDFGHJKL:\"~", "",
        "\\zxcvbnm,./", "|ZXCVBNM<>?", "",
        "\\", "|", ""}),
    DE(new String[] {
        "1234567890ß´", "!\"§$%&/()=?`", " ²³   {[]}\\ ",
        "qwertzuiopü+", "QWERTZUIOPÜ*", "@ €        ~",
        "asdfghjklöä^", "ASDFGHJKLÖÄ°", "",
        "#yxcvbnm,.-", "'YXCVBNM;:_", "       µ   ",
        "<", ">", "|"}),
    FR(new String[] {
        "&é\"'(-è_çà)=", "1234567890°+", " ~#{[|`\\^@]}",
        "azertyuiop^$", "AZERTYUIOP¨£", "  €        ¤",
        "qsdfghjklmù²", "QSDFGHJKLM%³", "",
        "*wxcvbn,;:!", "µWXCVBN?./§", "",
        "<", ">", ""});

    /** Linux key codes ({@code linux/input-event-codes.h}). */
    static final int KEY_TAB = 15;
    static final int KEY_ENTER = 28;
    static final int KEY_LEFTCTRL = 29;
    static final int KEY_LEFTSHIFT = 42;
    static final int KEY_RIGHTSHIFT = 54;
    static final int KEY_LEFTALT = 56;
    static final int KEY_SPACE = 57;
    static final int KEY_CAPSLOCK = 58;
    static final int KEY_KPENTER = 96;
    static final int KEY_RIGHTCTRL = 97;
    static final int KEY_RIGHTALT = 100;
    static final int KEY_102ND = 86;

    private static final int CODES = 128;
    /** Keypad codes 71..83 and 55, 98 (NumLock on). */
    private static final String KEYPAD = "789-456+1230.";

    private final char[] plain = new char[CODES];
    private final char[] shifted = new char[CODES];
    private final char[] altGr = new char[CODES];

    KeyLayout(String[] rows) {
        for (int row = 0; row < 5; row++) {
            for (int level = 0; level < 3; level++) {
                String keys = rows[row * 3 + level];
                char[] table = level == 0 ? plain : level == 1 ? shifted : altGr;
                for (int i = 0; i < keys.length(); i++) {
                    char c = keys.charAt(i);
                    if (c == ' ') {
                        continue; // no character on that level
                    }
                    int code = row == 3 ? Rows.Z_ROW[i] : Rows.START[row] + i;
                    table[code] = c;
                }
            }
        }
        plain[KEY_SPACE] = ' ';
        shifted[KEY_SPACE] = ' ';
        for (int i = 0; i < KEYPAD.length(); i++) {
            plain[71 + i] = KEYPAD.charAt(i);
            shifted[71 + i] = KEYPAD.charAt(i);
        }
        plain[55] = '*';
        shifted[55] = '*';
        plain[98] = '/';
        shifted[98] = '/';
    }

    /**
     * The character a key types, or 0 when it types none (a modifier, a function key, an unknown code).
     * CapsLock inverts Shift for letters only, as on Linux: in fr it does not turn the number row into
     * digits.
     */
    public char charFor(int code, boolean shift, boolean capsLock, boolean altGraph) {
        if (code < 0 || code >= CODES) {
            return 0;
        }
        if (altGraph) {
            return altGr[code];
        }
        char p = plain[code];
        boolean letter = Character.isLetter(p) && shifted[code] == Character.toUpperCase(p)
                && Character.toUpperCase(p) != p;
        boolean upper = letter && capsLock ? !shift : shift;
        return upper ? shifted[code] : p;
    }

    /** Row geometry; a nested class because an enum's constructor cannot read the enum's static arrays. */
    private static final class Rows {
        /** First key code of each row in the tables above: 1..= row, q row, a row (with the grave key), -, 102nd key. */
        static final int[] START = {2, 16, 30, 0, 86};
        /** The z row starts at KEY_BACKSLASH (43) and then 44..53; the tables put backslash first. */
        static final int[] Z_ROW = {43, 44, 45, 46, 47, 48, 49, 50, 51, 52, 53};

        private Rows() {
        }
    }
}
