package app.sevenstamp.autopilot.sink.http;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;

class CardPageTest {
    @Test
    void everyValueIsEscaped() {
        String html = CardPage.render(new CardView("ABCDEFGHJKMNPQRS", "coffee", "<script>alert('x')</script> & \"Co\"",
                2, 5, 1, null, List.of()));
        assertFalse(html.contains("<script>"), html);
        assertTrue(html.contains("&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &quot;Co&quot;"), html);
    }

    @Test
    void showsOneCirclePerStampOfTheRoundFilledUpToTheStampsSoFar() {
        String html = CardPage.render(new CardView("ABCDEFGHJKMNPQRS", "coffee", "Coffee", 3, 8, 0, "2026-11-23T07:02:11.345Z", List.of()));
        assertEquals(3, count(html, "<span class=\"stamp on\">"));
        assertEquals(8, count(html, "<span class=\"stamp"));
        assertTrue(html.contains("3 of 8 stamps"), html);
        assertTrue(html.contains("Last stamp: 2026-11-23T07:02:11.345Z"), html);
    }

    private static int count(String text, String part) {
        int n = 0;
        for (int i = text.indexOf(part); i >= 0; i = text.indexOf(part, i + 1)) {
            n++;
        }
        return n;
    }
}
