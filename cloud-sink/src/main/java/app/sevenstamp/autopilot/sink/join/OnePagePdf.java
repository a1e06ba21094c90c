package app.sevenstamp.autopilot.sink.join;

import java.awt.image.BufferedImage;
import java.awt.image.DataBufferByte;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.zip.Deflater;

/**
 * A PDF of one page that shows one greyscale image edge to edge: the whole poster, drawn once with
 * Java2D for the PNG and the PDF alike. PDF 1.4, five objects, the image Flate-compressed (what the
 * PDF calls FlateDecode is zlib, which {@link Deflater} writes). Written by hand because this is all
 * the poster needs; see the README's dependency table for why not PDFBox.
 */
final class OnePagePdf {
    private OnePagePdf() {
    }

    /**
     * @param image a {@link BufferedImage#TYPE_BYTE_GRAY} image
     * @param widthPt the page's width in points (1/72 inch); the height follows the image's proportions
     */
    static byte[] of(BufferedImage image, double widthPt) {
        if (image.getType() != BufferedImage.TYPE_BYTE_GRAY) {
            throw new IllegalArgumentException("the image must be TYPE_BYTE_GRAY, not type " + image.getType());
        }
        byte[] pixels = ((DataBufferByte) image.getRaster().getDataBuffer()).getData();
        byte[] packed = deflate(pixels);
        String w = String.format(java.util.Locale.ROOT, "%.2f", widthPt);
        String h = String.format(java.util.Locale.ROOT, "%.2f", widthPt * image.getHeight() / image.getWidth());
        byte[] content = ("q " + w + " 0 0 " + h + " 0 0 cm /Poster Do Q\n").getBytes(StandardCharsets.US_ASCII);

        ByteArrayOutputStream out = new ByteArrayOutputStream(packed.length + 1024);
        List<Integer> offsets = new ArrayList<>();
        // the binary comment line tells transfer programs that the file is binary
        write(out, "%PDF-1.4\n%\u00e2\u00e3\u00cf\u00d3\n");
        offsets.add(out.size());
        write(out, "1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\nendobj\n");
        offsets.add(out.size());
        write(out, "2 0 obj\n<< /Type /Pages /Kids [3 0 R] /Count 1 >>\nendobj\n");
        offsets.add(out.size());
        write(out, "3 0 obj\n<< /Type /Page /Parent 2 0 R /MediaBox [0 0 " + w + " " + h + "] /Resources << /XObject "
                + "<< /Poster 4 0 R >> >> /Contents 5 0 R >>\nendobj\n");
        offsets.add(out.size());
        write(out, "4 0 obj\n<< /Type /XObject /Subtype /Image /Width " + image.getWidth() + " /Height " + image.getHeight()
                + " /ColorSpace /DeviceGray /BitsPerComponent 8 /Interpolate false /Filter /FlateDecode /Length "
                + packed.length + " >>\nstream\n");
        out.writeBytes(packed);
        write(out, "\nendstream\nendobj\n");
        offsets.add(out.size());
        write(out, "5 0 obj\n<< /Length " + content.length + " >>\nstream\n");
        out.writeBytes(content);
        write(out, "endstream\nendobj\n");
        int xref = out.size();
        StringBuilder x = new StringBuilder("xref\n0 " + (offsets.size() + 1) + "\n0000000000 65535 f \n");
        for (int off : offsets) {
            x.append(String.format(java.util.Locale.ROOT, "%010d 00000 n \n", off));
        }
        x.append("trailer\n<< /Size ").append(offsets.size() + 1).append(" /Root 1 0 R >>\nstartxref\n").append(xref)
                .append("\n%%EOF\n");
        write(out, x.toString());
        return out.toByteArray();
    }

    private static byte[] deflate(byte[] data) {
        Deflater d = new Deflater(Deflater.BEST_COMPRESSION);
        try {
            d.setInput(data);
            d.finish();
            ByteArrayOutputStream out = new ByteArrayOutputStream(data.length / 8 + 64);
            byte[] buf = new byte[64 * 1024];
            while (!d.finished()) {
                out.write(buf, 0, d.deflate(buf));
            }
            return out.toByteArray();
        } finally {
            d.end();
        }
    }

    private static void write(ByteArrayOutputStream out, String text) {
        out.writeBytes(text.getBytes(StandardCharsets.ISO_8859_1));
    }
}
