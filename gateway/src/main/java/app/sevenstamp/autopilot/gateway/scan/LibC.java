package app.sevenstamp.autopilot.gateway.scan;

import com.sun.jna.Library;
import com.sun.jna.Native;
import com.sun.jna.NativeLong;
import com.sun.jna.Pointer;

/**
 * The few libc calls the keyboard-mode scanner needs, through JNA: {@code ioctl(EVIOCGRAB)} has no Java
 * equivalent, and a grab only holds for the file description that made it, so opening, waiting and
 * reading must use the same raw descriptor. Loaded on first use only, so a serial or stdin gateway never
 * extracts JNA's native library.
 *
 * <p>The constants are those of Linux on arm, arm64 and x86 alike.
 */
interface LibC extends Library {
    int O_RDONLY = 0;
    int O_NONBLOCK = 0x800;
    int O_CLOEXEC = 0x80000;

    short POLLIN = 0x1;
    short POLLERR = 0x8;
    short POLLHUP = 0x10;
    short POLLNVAL = 0x20;

    int EINTR = 4;
    int EAGAIN = 11;
    int EBUSY = 16;
    int ENODEV = 19;
    int EINVAL = 22;
    int ENOTTY = 25;

    /** {@code _IOW('E', 0x90, int)}. */
    long EVIOCGRAB = 0x40044590L;

    int open(String path, int flags);

    int close(int fd);

    NativeLong read(int fd, byte[] buffer, NativeLong count);

    /** Declared with the one int argument EVIOCGRAB takes; fine on Linux arm, arm64 and x86 ABIs. */
    int ioctl(int fd, NativeLong request, int argument);

    /** @param fds one {@code struct pollfd}: int fd, short events, short revents (8 bytes) */
    int poll(Pointer fds, int count, int timeoutMillis);

    static LibC get() {
        return Holder.INSTANCE;
    }

    static int errno() {
        return Native.getLastError();
    }

    /** Initialization on demand: JNA loads its native part when this class is first touched. */
    final class Holder {
        static final LibC INSTANCE = Native.load("c", LibC.class);

        private Holder() {
        }
    }
}
