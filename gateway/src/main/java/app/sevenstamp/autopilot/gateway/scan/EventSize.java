package app.sevenstamp.autopilot.gateway.scan;

import java.util.Locale;

/**
 * The size of the kernel's {@code struct input_event} as this process sees it: a {@code struct timeval}
 * (two longs) and then type (u16), code (u16), value (s32), little-endian on every Pi. 24 bytes for a
 * 64-bit process (arm64, amd64), 16 for a 32-bit one (armhf, i386): the kernel hands a 32-bit process
 * the compat layout even on a 64-bit kernel, so what counts is the JVM's architecture, not the kernel's.
 */
public enum EventSize {
    BYTES_16(16),
    BYTES_24(24);

    private final int bytes;

    EventSize(int bytes) {
        this.bytes = bytes;
    }

    public int bytes() {
        return bytes;
    }

    /** Offset of the type field: after the two halves of the timeval. */
    int typeOffset() {
        return bytes - 8;
    }

    /** For this JVM, from {@code os.arch} (and {@code sun.arch.data.model} where it is set). */
    public static EventSize forThisJvm() {
        return forArch(System.getProperty("os.arch", ""), System.getProperty("sun.arch.data.model", ""));
    }

    static EventSize forArch(String osArch, String dataModel) {
        if ("32".equals(dataModel)) {
            return BYTES_16;
        }
        if ("64".equals(dataModel)) {
            return BYTES_24;
        }
        String arch = osArch.toLowerCase(Locale.ROOT);
        return arch.contains("64") ? BYTES_24 : BYTES_16;
    }

    /** {@code auto}, {@code 16} or {@code 24}; null for anything else. */
    public static EventSize parse(String value) {
        return switch (value.toLowerCase(Locale.ROOT)) {
            case "auto" -> forThisJvm();
            case "16" -> BYTES_16;
            case "24" -> BYTES_24;
            default -> null;
        };
    }
}
