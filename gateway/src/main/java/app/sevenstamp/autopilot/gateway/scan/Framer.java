package app.sevenstamp.autopilot.gateway.scan;

import java.nio.charset.Charset;
import java.util.Objects;
import java.util.function.Consumer;

/**
 * Cuts a scanner's byte stream into frames. Memory is fixed at {@code maxLength} bytes whatever the
 * input: a longer line is discarded up to its terminator and reported as one {@link Frame.Overlong},
 * so a 10,000-byte burst of noise gives one reject, never a run of bogus "scans". The length limit
 * counts bytes before decoding, so no frame is ever longer than {@code maxLength} characters either.
 * Empty lines (a bare terminator) are noise and yield nothing.
 *
 * <p>Not thread-safe: owned by the one reader thread of a scan source.
 */
public final class Framer {
    private static final byte CR = '\r';
    private static final byte LF = '\n';
    private static final byte TAB = '\t';

    private final Terminator terminator;
    private final boolean anyLineEnd;
    private final int maxLength;
    private final Charset charset;
    private final byte[] buffer;
    private int length;
    /** Bytes of the current line seen so far while it is being discarded; 0 when not discarding. */
    private long discarded;
    /** CRLF mode: a CR was seen and is held back until the next byte shows whether it ends the line. */
    private boolean heldCr;

    /**
     * @param anyLineEnd also end a frame at CR and at LF, whatever the terminator: a terminal sends
     *                   LF, a scanner typing into one may send CR, and stdin should accept both
     */
    public Framer(Terminator terminator, int maxLength, Charset charset, boolean anyLineEnd) {
        if (maxLength < 1) {
            throw new IllegalArgumentException("maxLength must be positive, was " + maxLength);
        }
        this.terminator = Objects.requireNonNull(terminator, "terminator");
        this.charset = Objects.requireNonNull(charset, "charset");
        this.maxLength = maxLength;
        this.anyLineEnd = anyLineEnd;
        this.buffer = new byte[maxLength];
    }

    public void feed(byte[] data, int offset, int count, Consumer<Frame> out) {
        for (int i = offset; i < offset + count; i++) {
            byte b = data[i];
            if (heldCr) {
                heldCr = false;
                if (b == LF) {
                    endOfLine(out);
                    continue;
                }
                data(CR);
            }
            if (terminator == Terminator.CRLF && b == CR && !anyLineEnd) {
                heldCr = true;
            } else if (isEnd(b)) {
                endOfLine(out);
            } else {
                data(b);
            }
        }
    }

    /** End of input: a last line without terminator still counts (a pipe's final line often has none). */
    public void finish(Consumer<Frame> out) {
        if (heldCr) {
            heldCr = false;
        }
        endOfLine(out);
    }

    /**
     * The line went quiet for the inter-character timeout: with {@link Terminator#NONE} that ends the
     * scan. A held CR is data then (only CRLF holds one, and CRLF never uses the timeout).
     */
    public void idle(Consumer<Frame> out) {
        if (heldCr) {
            heldCr = false;
            data(CR);
        }
        endOfLine(out);
    }

    /** Whether part of a line has been read and not yet ended. */
    public boolean pending() {
        return length > 0 || discarded > 0 || heldCr;
    }

    /** Forgets a partial line, for example when the scanner was unplugged in the middle of one. */
    public void reset() {
        length = 0;
        discarded = 0;
        heldCr = false;
    }

    private boolean isEnd(byte b) {
        if (anyLineEnd && (b == CR || b == LF)) {
            return true;
        }
        return switch (terminator) {
            case CR -> b == CR;
            case LF, CRLF -> b == LF;
            case TAB -> b == TAB;
            case NONE -> false;
        };
    }

    private void data(byte b) {
        if (discarded > 0) {
            discarded++;
        } else if (length == maxLength) {
            discarded = length + 1L;
            length = 0;
        } else {
            buffer[length++] = b;
        }
    }

    private void endOfLine(Consumer<Frame> out) {
        if (discarded > 0) {
            long bytes = discarded;
            discarded = 0;
            out.accept(new Frame.Overlong(bytes, maxLength));
        } else if (length > 0) {
            // an empty line is no scan (a bare terminator, or the second half of CR LF when any line end ends
            // a line): it is ignored without a signal, so the counter never sees a reject nobody caused
            String text = new String(buffer, 0, length, charset);
            length = 0;
            out.accept(new Frame.Text(text));
        }
    }
}
