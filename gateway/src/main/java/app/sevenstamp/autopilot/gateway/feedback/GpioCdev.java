package app.sevenstamp.autopilot.gateway.feedback;

import com.sun.jna.Library;
import com.sun.jna.Native;
import com.sun.jna.NativeLong;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Optional;

/**
 * Reads a GPIO character device the way gpiodetect and gpioinfo do, through the kernel's ioctls: the chip's
 * label ({@code GPIO_GET_CHIPINFO_IOCTL}) and whether a line is taken ({@code GPIO_V2_GET_LINEINFO_IOCTL}).
 * Neither changes a pin. JNA is loaded on first use only. Not run by the tests here (this machine has no
 * gpiochip): {@link GpioHost} falls back to sysfs when a call fails, and the fake trees exercise that.
 *
 * <p>Structures from include/uapi/linux/gpio.h (docs/hardware.md): {@code struct gpiochip_info} is
 * {@code char name[32]; char label[32]; u32 lines} (68 bytes), {@code struct gpio_v2_line_info} is
 * {@code char name[32]; char consumer[32]; u32 offset; u32 num_attrs; u64 flags; attrs[10] of 16 bytes;
 * u32 padding[4]} (256 bytes). The request numbers are {@code _IOR(0xB4, 0x01, 68)} and
 * {@code _IOWR(0xB4, 0x05, 256)}; the same on arm, arm64 and x86.
 */
public final class GpioCdev {
    static final long GPIO_GET_CHIPINFO_IOCTL = 0x8044B401L;
    static final long GPIO_V2_GET_LINEINFO_IOCTL = 0xC100B405L;
    /** {@code GPIO_V2_LINE_FLAG_USED}: the kernel or a process holds the line. */
    static final long FLAG_USED = 1L;
    /** {@code GPIO_V2_LINE_FLAG_OUTPUT}. */
    static final long FLAG_OUTPUT = 1L << 3;
    private static final int O_RDONLY = 0;
    private static final int O_CLOEXEC = 0x80000;

    private GpioCdev() {
    }

    /** What {@code GPIO_GET_CHIPINFO_IOCTL} tells. */
    public record ChipInfo(String name, String label, int lines) {
    }

    /** What {@code GPIO_V2_GET_LINEINFO_IOCTL} tells of one line. @param consumer empty when nobody named it */
    public record LineInfo(int offset, String name, String consumer, boolean used, boolean output) {
    }

    /** Reads a chip's identity; empty when the device cannot be opened or is no GPIO chip. */
    public static Optional<ChipInfo> chipInfo(Path device) {
        byte[] info = new byte[68];
        if (!ioctl(device, GPIO_GET_CHIPINFO_IOCTL, info)) {
            return Optional.empty();
        }
        ByteBuffer b = ByteBuffer.wrap(info).order(ByteOrder.nativeOrder());
        return Optional.of(new ChipInfo(string(info, 0), string(info, 32), b.getInt(64)));
    }

    /** Reads one line's state; empty when the call fails. */
    public static Optional<LineInfo> lineInfo(Path device, int offset) {
        byte[] info = new byte[256];
        ByteBuffer b = ByteBuffer.wrap(info).order(ByteOrder.nativeOrder());
        b.putInt(64, offset); // the kernel wants the offset filled in and the rest zero
        if (!ioctl(device, GPIO_V2_GET_LINEINFO_IOCTL, info)) {
            return Optional.empty();
        }
        long flags = b.getLong(72);
        return Optional.of(new LineInfo(offset, string(info, 0), string(info, 32), (flags & FLAG_USED) != 0,
                (flags & FLAG_OUTPUT) != 0));
    }

    private static boolean ioctl(Path device, long request, byte[] buffer) {
        C c;
        try {
            c = C.Holder.INSTANCE;
        } catch (LinkageError e) {
            return false; // no JNA native part for this platform: sysfs answers instead
        }
        int fd = c.open(device.toString(), O_RDONLY | O_CLOEXEC);
        if (fd < 0) {
            return false;
        }
        try {
            return c.ioctl(fd, new NativeLong(request), buffer) == 0;
        } finally {
            c.close(fd);
        }
    }

    private static String string(byte[] b, int at) {
        int end = at;
        while (end < at + 32 && b[end] != 0) {
            end++;
        }
        return new String(b, at, end - at, StandardCharsets.UTF_8);
    }

    interface C extends Library {
        int open(String path, int flags);

        int close(int fd);

        /** JNA copies the array in before and back out after the call. */
        int ioctl(int fd, NativeLong request, byte[] argument);

        final class Holder {
            static final C INSTANCE = Native.load("c", C.class);

            private Holder() {
            }
        }
    }
}
