package app.sevenstamp.autopilot.sink.cards;

import com.google.zxing.BarcodeFormat;
import com.google.zxing.BinaryBitmap;
import com.google.zxing.EncodeHintType;
import com.google.zxing.LuminanceSource;
import com.google.zxing.PlanarYUVLuminanceSource;
import com.google.zxing.ReaderException;
import com.google.zxing.WriterException;
import com.google.zxing.common.BitMatrix;
import com.google.zxing.common.HybridBinarizer;
import com.google.zxing.qrcode.QRCodeReader;
import com.google.zxing.qrcode.QRCodeWriter;
import com.google.zxing.qrcode.decoder.ErrorCorrectionLevel;
import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.EnumMap;
import java.util.Map;
import javax.imageio.ImageIO;
import org.tinylog.Logger;

/**
 * The sink's one QR encoder and PNG writer (card, join, voucher and pass images), with zxing core only: zxing's
 * javase module would pull in more than the few lines below.
 *
 * <p>Every QR code it draws has been read back by zxing's detector searching the whole picture, as a camera app
 * does. zxing picks the mask pattern by the standard's penalty score alone, and about 1 code in 150 then misleads
 * that detector: unreadable even as a pristine image (3,000 random voucher codes at 8 pixels a module: 21; 1,000
 * card codes: 6; 7 Dec). Such a code is drawn with the first other mask that reads; a reader reads any of the
 * eight masks alike.
 */
public final class QrPng {
    /** Pixels per QR module: crisp when printed and when shown on a phone. */
    public static final int MODULE_PIXELS = 8;
    /**
     * The module sizes the read-back renders at. From 3 to 6 pixels a module the detector read or failed alike, and
     * from 8 to 12, but not the one range as the other (1 code of 6,000 read at 4 pixels and not at 8).
     */
    private static final int[] CHECK_PIXELS = {4, 8};
    private static final int MASKS = 8;

    private QrPng() {
    }

    /** The modules of {@code text}'s QR code at error correction M, with the quiet zone of 4 modules scanners expect. */
    public static BitMatrix matrix(String text) {
        BitMatrix standard = qr(text, null);
        if (reads(standard, text)) {
            return standard;
        }
        for (int mask = 0; mask < MASKS; mask++) {
            BitMatrix other = qr(text, mask);
            if (reads(other, text)) {
                return other;
            }
        }
        // Never seen: the standard's choice is still a valid code, which other readers may read.
        Logger.warn("no mask pattern of the QR code of a {}-character text reads back with zxing; drawn as the standard picks",
                text.length());
        return standard;
    }

    /** How many modules wide {@code text}'s QR code is, quiet zone included (the same with every mask). */
    public static int side(String text) {
        return qr(text, null).getWidth();
    }

    /** {@code text}'s QR code as PNG bytes, {@code modulePixels} pixels a module: whole pixels keep every edge sharp. */
    public static byte[] png(String text, int modulePixels) {
        return encode(image(matrix(text), modulePixels));
    }

    public static void write(String text, Path file) throws IOException {
        byte[] png;
        try {
            png = png(text, MODULE_PIXELS);
        } catch (IllegalArgumentException e) {
            throw new IOException(e.getMessage(), e);
        }
        Path target = file.toAbsolutePath();
        if (target.getParent() != null) {
            Files.createDirectories(target.getParent());
        }
        Files.write(target, png);
    }

    /** An image as PNG bytes. */
    public static byte[] encode(BufferedImage image) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try {
            if (!ImageIO.write(image, "png", out)) {
                throw new IllegalStateException("this JVM has no PNG writer");
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return out.toByteArray();
    }

    /** The modules drawn black on white, {@code modulePixels} pixels a module. */
    static BufferedImage image(BitMatrix m, int modulePixels) {
        BufferedImage image = new BufferedImage(m.getWidth() * modulePixels, m.getHeight() * modulePixels,
                BufferedImage.TYPE_BYTE_BINARY);
        for (int y = 0; y < image.getHeight(); y++) {
            for (int x = 0; x < image.getWidth(); x++) {
                image.setRGB(x, y, m.get(x / modulePixels, y / modulePixels) ? 0x000000 : 0xFFFFFF);
            }
        }
        return image;
    }

    private static BitMatrix qr(String text, Integer mask) {
        Map<EncodeHintType, Object> hints = new EnumMap<>(EncodeHintType.class);
        hints.put(EncodeHintType.MARGIN, 4);
        hints.put(EncodeHintType.ERROR_CORRECTION, ErrorCorrectionLevel.M);
        if (mask != null) {
            hints.put(EncodeHintType.QR_MASK_PATTERN, mask);
        }
        try {
            // Size 0 asks for one pixel per module.
            return new QRCodeWriter().encode(text, BarcodeFormat.QR_CODE, 0, 0, hints);
        } catch (WriterException e) {
            throw new IllegalArgumentException("cannot encode a QR code of " + text.length() + " characters: " + e.getMessage(), e);
        }
    }

    /** Whether zxing's detector, searching the whole picture without hints as a camera app does, reads {@code text}. */
    static boolean reads(BitMatrix m, String text) {
        for (int pixels : CHECK_PIXELS) {
            if (!reads(m, text, pixels)) {
                return false;
            }
        }
        return true;
    }

    private static boolean reads(BitMatrix m, String text, int modulePixels) {
        int width = m.getWidth() * modulePixels;
        int height = m.getHeight() * modulePixels;
        byte[] luminance = new byte[width * height];
        for (int y = 0; y < height; y++) {
            for (int x = 0; x < width; x++) {
                luminance[y * width + x] = m.get(x / modulePixels, y / modulePixels) ? 0 : (byte) 0xFF;
            }
        }
        LuminanceSource source = new PlanarYUVLuminanceSource(luminance, width, height, 0, 0, width, height, false);
        try {
            return text.equals(new QRCodeReader().decode(new BinaryBitmap(new HybridBinarizer(source))).getText());
        } catch (ReaderException e) {
            return false;
        }
    }
}
