package app.sevenstamp.autopilot.protocol;

/**
 * Debian version order (deb-version(7), as {@code dpkg --compare-versions}): epoch, then upstream version, then
 * revision, each compared by alternating non-digit parts (letters before non-letters, {@code ~} before everything,
 * even the end) and numbers. The box refuses a manifest not newer than what it runs by this order.
 */
public final class DebVersion {
    private DebVersion() {
    }

    /** Negative, zero or positive as {@code a} is older than, equal to or newer than {@code b}. */
    public static int compare(String a, String b) {
        String[] x = split(a);
        String[] y = split(b);
        int c = Long.compare(Long.parseLong(x[0]), Long.parseLong(y[0]));
        if (c != 0) {
            return c;
        }
        c = part(x[1], y[1]);
        return c != 0 ? c : part(x[2], y[2]);
    }

    /** epoch, upstream, revision ("0" when absent, as dpkg). */
    private static String[] split(String v) {
        String epoch = "0";
        int colon = v.indexOf(':');
        if (colon >= 0) {
            epoch = v.substring(0, colon);
            v = v.substring(colon + 1);
        }
        int dash = v.lastIndexOf('-');
        String upstream = dash >= 0 ? v.substring(0, dash) : v;
        String revision = dash >= 0 ? v.substring(dash + 1) : "0";
        return new String[] {epoch.isEmpty() ? "0" : epoch, upstream, revision};
    }

    private static int order(char c) {
        if (Character.isDigit(c)) {
            return 0;
        }
        if (Character.isLetter(c)) {
            return c;
        }
        if (c == '~') {
            return -1;
        }
        return c + 256;
    }

    private static int part(String a, String b) {
        int i = 0;
        int j = 0;
        while (i < a.length() || j < b.length()) {
            int firstDiff = 0;
            while ((i < a.length() && !Character.isDigit(a.charAt(i))) || (j < b.length() && !Character.isDigit(b.charAt(j)))) {
                int ac = i < a.length() ? order(a.charAt(i)) : 0;
                int bc = j < b.length() ? order(b.charAt(j)) : 0;
                if (ac != bc) {
                    return ac - bc;
                }
                i++;
                j++;
            }
            while (i < a.length() && a.charAt(i) == '0') {
                i++;
            }
            while (j < b.length() && b.charAt(j) == '0') {
                j++;
            }
            while (i < a.length() && Character.isDigit(a.charAt(i)) && j < b.length() && Character.isDigit(b.charAt(j))) {
                if (firstDiff == 0) {
                    firstDiff = a.charAt(i) - b.charAt(j);
                }
                i++;
                j++;
            }
            if (i < a.length() && Character.isDigit(a.charAt(i))) {
                return 1;
            }
            if (j < b.length() && Character.isDigit(b.charAt(j))) {
                return -1;
            }
            if (firstDiff != 0) {
                return firstDiff;
            }
        }
        return 0;
    }
}
