package app.sevenstamp.autopilot.sink.join;

import app.sevenstamp.autopilot.sink.cards.QrPng;
import app.sevenstamp.autopilot.sink.loyalty.Program;
import com.google.zxing.common.BitMatrix;
import java.awt.Color;
import java.awt.Font;
import java.awt.FontMetrics;
import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.image.BufferedImage;
import java.util.List;

/**
 * The counter poster of a program: its name, a QR code that leads to its join page, and three short
 * steps. Drawn once as an A5 page at 300 dpi in greys (prints on any printer); the PNG is that image,
 * the PDF shows it on an A5 page. The QR code's modules are whole pixels, so its edges stay sharp.
 * Needs a font on the machine (Debian: fonts-dejavu-core). Stateless.
 */
public final class Poster {
    /** A5 at 300 dpi. */
    static final int WIDTH = 1748;
    static final int HEIGHT = 2480;
    /** A5's width in points. */
    static final double A5_WIDTH_PT = 419.53;
    private static final int MARGIN = 150;
    private static final int QR_SIDE = 1150;

    public enum Format {
        PNG("image/png"),
        PDF("application/pdf");

        private final String contentType;

        Format(String contentType) {
            this.contentType = contentType;
        }

        public String contentType() {
            return contentType;
        }

        /** The format a file name ends in ({@code .png}, {@code .pdf}), or null. */
        public static Format ofFileName(String name) {
            String n = name.toLowerCase(java.util.Locale.ROOT);
            return n.endsWith(".png") ? PNG : n.endsWith(".pdf") ? PDF : null;
        }
    }

    private Poster() {
    }

    /** The poster of {@code program} whose QR code leads to {@code joinUrl}. */
    public static byte[] render(Program program, String joinUrl, Format format) {
        BufferedImage image = draw(program, joinUrl);
        return format == Format.PNG ? QrPng.encode(image) : OnePagePdf.of(image, A5_WIDTH_PT);
    }

    static BufferedImage draw(Program program, String joinUrl) {
        BufferedImage image = new BufferedImage(WIDTH, HEIGHT, BufferedImage.TYPE_BYTE_GRAY);
        Graphics2D g = image.createGraphics();
        try {
            g.setColor(Color.WHITE);
            g.fillRect(0, 0, WIDTH, HEIGHT);
            g.setRenderingHint(RenderingHints.KEY_TEXT_ANTIALIASING, RenderingHints.VALUE_TEXT_ANTIALIAS_ON);
            g.setRenderingHint(RenderingHints.KEY_FRACTIONALMETRICS, RenderingHints.VALUE_FRACTIONALMETRICS_ON);
            g.setColor(Color.BLACK);
            int y = MARGIN + 40;
            y = centred(g, program.name(), new Font(Font.SANS_SERIF, Font.BOLD, 130), 56, y);
            g.setColor(new Color(0x44, 0x44, 0x44));
            y = centred(g, "Collect your stamps on your phone", new Font(Font.SANS_SERIF, Font.PLAIN, 66), 40, y + 40);
            y = centred(g, program.stampsRequired() + " stamps earn a reward", new Font(Font.SANS_SERIF, Font.PLAIN, 66), 40, y + 10);

            BitMatrix m = QrPng.matrix(joinUrl);
            int module = Math.max(1, QR_SIDE / m.getWidth());
            int side = module * m.getWidth();
            int x0 = (WIDTH - side) / 2;
            int y0 = y + 30;
            g.setColor(Color.BLACK);
            for (int my = 0; my < m.getHeight(); my++) {
                for (int mx = 0; mx < m.getWidth(); mx++) {
                    if (m.get(mx, my)) {
                        g.fillRect(x0 + mx * module, y0 + my * module, module, module);
                    }
                }
            }
            y = y0 + side + 20;
            Font steps = new Font(Font.SANS_SERIF, Font.PLAIN, 60);
            for (String step : List.of("1. Scan the code with your phone's camera", "2. Tap \u201cGet my card\u201d",
                    "3. Show your card here at every visit")) {
                y = centred(g, step, steps, 36, y + 16);
            }
            g.setColor(new Color(0x66, 0x66, 0x66));
            centred(g, joinUrl, new Font(Font.SANS_SERIF, Font.PLAIN, 40), 24, HEIGHT - MARGIN - 40);
        } finally {
            g.dispose();
        }
        return image;
    }

    /**
     * One line centred at {@code top}, the font shrunk (down to {@code minSize}) until it fits between the
     * margins, then cut with an ellipsis; returns the line's bottom.
     */
    private static int centred(Graphics2D g, String text, Font font, int minSize, int top) {
        Font f = font;
        FontMetrics fm = g.getFontMetrics(f);
        int room = WIDTH - 2 * MARGIN;
        while (fm.stringWidth(text) > room && f.getSize() > minSize) {
            f = f.deriveFont((float) (f.getSize() - 2));
            fm = g.getFontMetrics(f);
        }
        String line = text;
        while (fm.stringWidth(line) > room && line.length() > 1) {
            line = line.substring(0, line.length() - 2) + "\u2026";
        }
        g.setFont(f);
        g.drawString(line, (WIDTH - fm.stringWidth(line)) / 2, top + fm.getAscent());
        return top + fm.getHeight();
    }
}
