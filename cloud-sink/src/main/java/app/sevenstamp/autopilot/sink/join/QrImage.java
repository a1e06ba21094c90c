package app.sevenstamp.autopilot.sink.join;

import app.sevenstamp.autopilot.sink.cards.QrPng;
import com.google.zxing.BarcodeFormat;
import com.google.zxing.EncodeHintType;
import com.google.zxing.WriterException;
import com.google.zxing.common.BitMatrix;
import com.google.zxing.qrcode.QRCodeWriter;
import com.google.zxing.qrcode.decoder.ErrorCorrectionLevel;
import java.awt.image.BufferedImage;
import java.util.Map;

/** QR codes for the join pages and the poster, drawn from zxing core's module matrix. Stateless. */
final class QrImage {
    private QrImage() {
    }

    /** The modules, with the quiet zone of 4 modules scanners expect. */
    static BitMatrix matrix(String text) {
        try {
            return new QRCodeWriter().encode(text, BarcodeFormat.QR_CODE, 0, 0,
                    Map.of(EncodeHintType.MARGIN, 4, EncodeHintType.ERROR_CORRECTION, ErrorCorrectionLevel.M));
        } catch (WriterException e) {
            throw new IllegalArgumentException("cannot encode a QR code of " + text.length() + " characters: " + e.getMessage(), e);
        }
    }

    /** A PNG with {@code modulePixels} pixels per module: whole pixels keep every edge sharp. */
    static byte[] png(String text, int modulePixels) {
        BitMatrix m = matrix(text);
        BufferedImage image = new BufferedImage(m.getWidth() * modulePixels, m.getHeight() * modulePixels,
                BufferedImage.TYPE_BYTE_BINARY);
        for (int y = 0; y < image.getHeight(); y++) {
            for (int x = 0; x < image.getWidth(); x++) {
                image.setRGB(x, y, m.get(x / modulePixels, y / modulePixels) ? 0x000000 : 0xFFFFFF);
            }
        }
        return png(image);
    }

    static byte[] png(BufferedImage image) {
        return QrPng.encode(image);
    }
}
