package app.sevenstamp.autopilot.sink.wallet.apple;

import app.sevenstamp.autopilot.sink.cards.QrPng;
import java.awt.BasicStroke;
import java.awt.Color;
import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.geom.Ellipse2D;
import java.awt.geom.Path2D;
import java.awt.image.BufferedImage;

/**
 * The pass's pictures, drawn with Java2D: the strip with one circle per stamp of the round (filled
 * for the stamps the card has), and a plain icon and logo where none is configured. Shapes only, no
 * text: a server without fonts (a slim Debian) draws them too. Stateless and thread-safe.
 */
final class PassImages {
    /** Wallet's strip for a store card: 375x123 points (750x246 pixels at @2x). */
    static final int STRIP_W = 375;
    static final int STRIP_H = 123;

    private PassImages() {
    }

    /** {@code stamps} of {@code required} circles, in rows when there are many, at {@code scale} (1 or 2). */
    static byte[] strip(int stamps, int required, String background, String foreground, int scale) {
        int w = STRIP_W * scale;
        int h = STRIP_H * scale;
        BufferedImage img = new BufferedImage(w, h, BufferedImage.TYPE_INT_RGB);
        Graphics2D g = img.createGraphics();
        try {
            g.setRenderingHint(RenderingHints.KEY_ANTIALIASING, RenderingHints.VALUE_ANTIALIAS_ON);
            Color bg = color(background);
            Color fg = color(foreground);
            g.setColor(bg.darker());
            g.fillRect(0, 0, w, h);
            int n = Math.max(1, required);
            int perRow = n <= 10 ? n : (int) Math.ceil(n / Math.ceil(n / 10.0));
            int rows = (int) Math.ceil(n / (double) perRow);
            double cell = Math.min((w - 16.0 * scale) / perRow, (h - 16.0 * scale) / rows);
            double d = cell * 0.8;
            double x0 = (w - cell * perRow) / 2;
            double y0 = (h - cell * rows) / 2;
            g.setStroke(new BasicStroke((float) Math.max(1.5, d / 14)));
            for (int i = 0; i < n; i++) {
                double x = x0 + (i % perRow) * cell + (cell - d) / 2;
                double y = y0 + (i / perRow) * cell + (cell - d) / 2;
                Ellipse2D circle = new Ellipse2D.Double(x, y, d, d);
                g.setColor(fg);
                if (i < stamps) {
                    g.fill(circle);
                    g.setColor(bg);
                    Path2D tick = new Path2D.Double();
                    tick.moveTo(x + d * 0.28, y + d * 0.52);
                    tick.lineTo(x + d * 0.44, y + d * 0.68);
                    tick.lineTo(x + d * 0.74, y + d * 0.34);
                    g.setStroke(new BasicStroke((float) Math.max(2, d / 9), BasicStroke.CAP_ROUND, BasicStroke.JOIN_ROUND));
                    g.draw(tick);
                    g.setStroke(new BasicStroke((float) Math.max(1.5, d / 14)));
                } else {
                    g.draw(circle);
                }
            }
        } finally {
            g.dispose();
        }
        return png(img);
    }

    /** A filled circle in the text colour on the background: the icon and logo when none is configured. */
    static byte[] badge(int width, int height, String background, String foreground) {
        BufferedImage img = new BufferedImage(width, height, BufferedImage.TYPE_INT_ARGB);
        Graphics2D g = img.createGraphics();
        try {
            g.setRenderingHint(RenderingHints.KEY_ANTIALIASING, RenderingHints.VALUE_ANTIALIAS_ON);
            if (width == height) {
                g.setColor(color(background));
                g.fillRect(0, 0, width, height);
            }
            double d = Math.min(width, height) * 0.8;
            double off = (Math.min(width, height) - d) / 2;
            g.setColor(color(foreground));
            g.fill(new Ellipse2D.Double(off, off, d, d));
            g.setColor(color(background));
            g.fill(new Ellipse2D.Double(off + d * 0.3, off + d * 0.3, d * 0.4, d * 0.4));
        } finally {
            g.dispose();
        }
        return png(img);
    }

    static Color color(String hex) {
        return new Color(Integer.parseInt(hex.substring(1), 16));
    }

    private static byte[] png(BufferedImage img) {
        return QrPng.encode(img);
    }
}
