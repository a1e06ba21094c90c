package app.sevenstamp.autopilot.sink.join;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import app.sevenstamp.autopilot.sink.loyalty.Program;
import app.sevenstamp.autopilot.sink.loyalty.RewardPlan;
import app.sevenstamp.autopilot.sink.loyalty.StampRules;
import java.awt.image.BufferedImage;
import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;

class PosterTest {
    static final String URL = "https://stamps.example.com/join/coffee";

    static Program program(String name) {
        return new Program("coffee", name, 8, StampRules.NONE, RewardPlan.SIMPLE);
    }

    @Test
    void thePngIsAnA5PageWhoseQrCodeLeadsToTheJoinPage() throws Exception {
        byte[] png = Poster.render(program("Caf\u00e9 Zimt & Zucker"), URL, Poster.Format.PNG);
        BufferedImage image = ImageIO.read(new ByteArrayInputStream(png));
        assertEquals(Poster.WIDTH, image.getWidth());
        assertEquals(Poster.HEIGHT, image.getHeight());
        assertEquals(URL, QrDecode.text(image));
    }

    @Test
    void thePdfIsOnePageHoldingThePosterImage() throws Exception {
        byte[] pdf = Poster.render(program("Coffee"), URL, Poster.Format.PDF);
        String text = new String(pdf, StandardCharsets.ISO_8859_1);
        assertTrue(text.startsWith("%PDF-1.4\n"), text.substring(0, 20));
        assertTrue(text.endsWith("%%EOF\n"));
        assertTrue(text.contains("/MediaBox [0 0 419.53 595.2"), "A5: " + text.substring(0, 600));
        assertEquals(URL, QrDecode.text(QrDecode.pdfImage(pdf)));
        // the cross-reference table points at each object
        int xref = Integer.parseInt(text.substring(text.lastIndexOf("startxref\n") + 10, text.lastIndexOf("\n%%EOF")));
        assertTrue(text.startsWith("xref\n0 6\n", xref));
        String[] rows = text.substring(xref).split("\n");
        for (int obj = 1; obj <= 5; obj++) {
            int off = Integer.parseInt(rows[2 + obj].substring(0, 10));
            assertTrue(text.startsWith(obj + " 0 obj\n", off), "object " + obj + " at " + off);
        }
    }

    @Test
    void aLongNameIsShrunkOrCutButTheCodeStaysReadable() throws Exception {
        String name = "The Very Long Name Of A Coffee House Near The Station ".repeat(2).trim().substring(0, 80);
        assertEquals(URL, QrDecode.text(Poster.draw(program(name), URL)));
        for (String n : List.of("\u00c7ay Evi \u2615", "\u5496\u5561\u5e97")) {
            assertEquals(URL, QrDecode.text(Poster.draw(program(n), URL)));
        }
    }
}
