package app.sevenstamp.autopilot.sink.join;

import com.google.zxing.BinaryBitmap;
import com.google.zxing.DecodeHintType;
import com.google.zxing.LuminanceSource;
import com.google.zxing.NotFoundException;
import com.google.zxing.ChecksumException;
import com.google.zxing.FormatException;
import com.google.zxing.common.GlobalHistogramBinarizer;
import com.google.zxing.common.HybridBinarizer;
import com.google.zxing.qrcode.QRCodeReader;
import java.awt.image.BufferedImage;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.zip.DataFormatException;
import java.util.zip.Inflater;
import javax.imageio.ImageIO;

/** Test helpers: read a QR code back out of an image (ZXing's reader), and the image out of a poster PDF. */
public final class QrDecode {
    private QrDecode() {
    }

    /** The text of the one QR code somewhere in the image (a screenshot, a poster). */
    public static String text(BufferedImage image) throws NotFoundException, ChecksumException, FormatException {
        // Several readings: the image as one pure code, then searched for a code with two thresholds (a
        // screenshot, a poster scaled by a browser or a PDF viewer). One that reads is enough. The sink's own
        // PNGs read with the plain search alone (QrPng reads each back; QrPngTest holds it to that).
        Luminance luminance = new Luminance(image);
        Exception last = null;
        for (boolean pure : new boolean[] {true, false}) {
            for (BinaryBitmap bitmap : new BinaryBitmap[] {new BinaryBitmap(new HybridBinarizer(luminance)),
                    new BinaryBitmap(new GlobalHistogramBinarizer(luminance))}) {
                try {
                    return new QRCodeReader().decode(bitmap, pure ? Map.of(DecodeHintType.PURE_BARCODE, Boolean.TRUE)
                            : Map.of(DecodeHintType.TRY_HARDER, Boolean.TRUE)).getText();
                } catch (NotFoundException | ChecksumException | FormatException e) {
                    last = e;
                }
            }
        }
        if (last instanceof ChecksumException c) {
            throw c;
        }
        if (last instanceof FormatException f) {
            throw f;
        }
        throw NotFoundException.getNotFoundInstance();
    }

    public static String text(byte[] png) throws IOException, NotFoundException, ChecksumException, FormatException {
        BufferedImage image = ImageIO.read(new ByteArrayInputStream(png));
        if (image == null) {
            throw new IOException("not an image ImageIO can read (" + png.length + " bytes)");
        }
        return text(image);
    }

    /**
     * The first image XObject of a PDF written by {@link OnePagePdf}: 8-bit DeviceGray, FlateDecode. Parsed
     * from the dictionary's own /Width, /Height and /Length, so a wrong length or size fails here.
     */
    public static BufferedImage pdfImage(byte[] pdf) throws IOException, DataFormatException {
        String text = new String(pdf, StandardCharsets.ISO_8859_1);
        int dict = text.indexOf("/Subtype /Image");
        if (dict < 0) {
            throw new IOException("the PDF has no image XObject");
        }
        int start = text.lastIndexOf("<<", dict);
        int end = text.indexOf(">>", dict);
        String d = text.substring(start, end);
        int width = number(d, "/Width");
        int height = number(d, "/Height");
        int length = number(d, "/Length");
        int data = text.indexOf("stream\n", end) + "stream\n".length();
        if (!d.contains("/ColorSpace /DeviceGray") || !d.contains("/BitsPerComponent 8") || !d.contains("/FlateDecode")) {
            throw new IOException("not an 8-bit grey Flate image: " + d);
        }
        if (!text.startsWith("\nendstream", data + length)) {
            throw new IOException("/Length " + length + " does not end at 'endstream'");
        }
        Inflater inflater = new Inflater();
        inflater.setInput(pdf, data, length);
        ByteArrayOutputStream out = new ByteArrayOutputStream(width * height);
        byte[] buf = new byte[65536];
        while (!inflater.finished()) {
            int n = inflater.inflate(buf);
            if (n == 0 && (inflater.needsInput() || inflater.needsDictionary())) {
                throw new IOException("the image stream ends early");
            }
            out.write(buf, 0, n);
        }
        inflater.end();
        byte[] pixels = out.toByteArray();
        if (pixels.length != width * height) {
            throw new IOException("the image has " + pixels.length + " bytes; " + width + "x" + height + " needs " + width * height);
        }
        BufferedImage image = new BufferedImage(width, height, BufferedImage.TYPE_BYTE_GRAY);
        image.getRaster().setDataElements(0, 0, width, height, pixels);
        return image;
    }

    private static int number(String dict, String key) throws IOException {
        int i = dict.indexOf(key + " ");
        if (i < 0) {
            throw new IOException("no " + key + " in " + dict);
        }
        int s = i + key.length() + 1;
        int e = s;
        while (e < dict.length() && Character.isDigit(dict.charAt(e))) {
            e++;
        }
        return Integer.parseInt(dict.substring(s, e));
    }

    /** zxing core reads luminance, not images (the javase module has this class; core does not). */
    private static final class Luminance extends LuminanceSource {
        private final byte[] luminance;

        Luminance(BufferedImage image) {
            super(image.getWidth(), image.getHeight());
            luminance = new byte[image.getWidth() * image.getHeight()];
            for (int y = 0; y < image.getHeight(); y++) {
                for (int x = 0; x < image.getWidth(); x++) {
                    int rgb = image.getRGB(x, y);
                    luminance[y * image.getWidth() + x] = (byte) ((((rgb >> 16) & 0xFF) + ((rgb >> 8) & 0xFF) + (rgb & 0xFF)) / 3);
                }
            }
        }

        @Override
        public byte[] getRow(int y, byte[] row) {
            byte[] out = row == null || row.length < getWidth() ? new byte[getWidth()] : row;
            System.arraycopy(luminance, y * getWidth(), out, 0, getWidth());
            return out;
        }

        @Override
        public byte[] getMatrix() {
            return luminance;
        }
    }
}
