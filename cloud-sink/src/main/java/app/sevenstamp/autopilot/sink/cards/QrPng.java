package app.sevenstamp.autopilot.sink.cards;

import com.google.zxing.BarcodeFormat;
import com.google.zxing.EncodeHintType;
import com.google.zxing.WriterException;
import com.google.zxing.common.BitMatrix;
import com.google.zxing.qrcode.QRCodeWriter;
import com.google.zxing.qrcode.decoder.ErrorCorrectionLevel;
import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import javax.imageio.ImageIO;

/**
 * Writes a card code as a QR code PNG, with zxing core only: zxing's javase module would pull in
 * more than the few lines below. {@link #encode} is the sink's one PNG encoder (card, voucher, pass images).
 */
public final class QrPng {
    /** Pixels per QR module: crisp when printed and when shown on a phone. */
    static final int MODULE_PIXELS = 8;

    private QrPng() {
    }

    public static void write(String text, Path file) throws IOException {
        BitMatrix matrix;
        try {
            // Size 0 asks for one pixel per module; the quiet zone of 4 modules is what scanners expect.
            matrix = new QRCodeWriter().encode(text, BarcodeFormat.QR_CODE, 0, 0,
                    Map.of(EncodeHintType.MARGIN, 4, EncodeHintType.ERROR_CORRECTION, ErrorCorrectionLevel.M));
        } catch (WriterException e) {
            throw new IOException("cannot encode a QR code for " + text.length() + " characters: " + e.getMessage(), e);
        }
        int size = matrix.getWidth() * MODULE_PIXELS;
        BufferedImage image = new BufferedImage(size, matrix.getHeight() * MODULE_PIXELS, BufferedImage.TYPE_BYTE_BINARY);
        for (int y = 0; y < image.getHeight(); y++) {
            for (int x = 0; x < size; x++) {
                image.setRGB(x, y, matrix.get(x / MODULE_PIXELS, y / MODULE_PIXELS) ? 0x000000 : 0xFFFFFF);
            }
        }
        Path target = file.toAbsolutePath();
        if (target.getParent() != null) {
            Files.createDirectories(target.getParent());
        }
        if (!ImageIO.write(image, "png", target.toFile())) {
            throw new IOException("this JVM has no PNG writer");
        }
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
}
