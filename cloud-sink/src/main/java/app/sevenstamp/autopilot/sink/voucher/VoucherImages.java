package app.sevenstamp.autopilot.sink.voucher;

import app.sevenstamp.autopilot.sink.cards.QrPng;
import app.sevenstamp.autopilot.protocol.voucher.VoucherCode;
import com.google.zxing.BarcodeFormat;
import com.google.zxing.EncodeHintType;
import com.google.zxing.common.BitMatrix;
import com.google.zxing.oned.Code128Writer;
import java.awt.image.BufferedImage;
import java.util.Map;

/**
 * A voucher code as PNG: a QR code (phones, the box's 2D scanner) and a Code128 bar code (1D scanners and
 * tills). Both carry {@link VoucherCode#text()}. zxing core only. Stateless.
 */
public final class VoucherImages {
    /** Pixels per QR module and per narrowest bar: crisp on paper and on a phone. */
    static final int QR_MODULE = 8;
    static final int BAR = 3;
    static final int BAR_HEIGHT = 120;

    /** The two kinds, by the file name the HTTP API serves them under. */
    public enum Kind {
        QR("qr.png"),
        CODE128("code128.png");

        private final String fileName;

        Kind(String fileName) {
            this.fileName = fileName;
        }

        public String fileName() {
            return fileName;
        }
    }

    private VoucherImages() {
    }

    public static byte[] png(VoucherCode code, Kind kind) {
        if (kind == Kind.QR) {
            return QrPng.png(code.text(), QR_MODULE);
        }
        BitMatrix m;
        try {
            m = new Code128Writer().encode(code.text(), BarcodeFormat.CODE_128, 0, 1, Map.of(EncodeHintType.MARGIN, 10));
        } catch (IllegalArgumentException e) {
            throw new IllegalStateException("cannot encode " + code + " as " + kind + ": " + e.getMessage(), e);
        }
        BufferedImage image = new BufferedImage(m.getWidth() * BAR, BAR_HEIGHT, BufferedImage.TYPE_BYTE_BINARY);
        for (int y = 0; y < BAR_HEIGHT; y++) {
            for (int x = 0; x < image.getWidth(); x++) {
                image.setRGB(x, y, m.get(x / BAR, 0) ? 0x000000 : 0xFFFFFF);
            }
        }
        return QrPng.encode(image);
    }
}
