package app.sevenstamp.autopilot.gateway.scan;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class AffixesTest {
    private static final String CARD = "7S1.k1.coffee.ABCDEFGHJKMNPQRS.sig";

    @Test
    void aimIdentifiersAreRemoved() {
        Affixes aim = new Affixes("", "", true);
        assertEquals(CARD, aim.strip("]Q1" + CARD));
        assertEquals(CARD, aim.strip("]C0" + CARD));
        assertEquals(CARD, aim.strip("]E0" + CARD));
        assertEquals(CARD, aim.strip("]z3" + CARD));
        assertEquals(CARD, aim.strip(CARD), "without an identifier the text is unchanged");
        assertEquals("]Q", aim.strip("]Q"), "too short to be an identifier and data");
        assertEquals("] 1abc", aim.strip("] 1abc"), "a space is not a symbology letter");
    }

    @Test
    void aimIdentifiersAreKeptWhenTurnedOff() {
        assertEquals("]Q1" + CARD, new Affixes("", "", false).strip("]Q1" + CARD));
    }

    @Test
    void prefixThenAimThenSuffixAreRemovedOnceEachAndOnlyWhenPresent() {
        Affixes a = new Affixes("\u0002", "\u0003", true);
        assertEquals(CARD, a.strip("\u0002]Q1" + CARD + "\u0003"));
        assertEquals(CARD, a.strip(CARD + "\u0003"));
        assertEquals("\u0002" + CARD, a.strip("\u0002\u0002" + CARD), "removed once");
    }

    @Test
    void aFrameOfOnlyAffixesYieldsNothingAndOverlongPassesThrough() {
        List<Frame> out = new ArrayList<>();
        var consumer = new Affixes("PRE", "", true).apply(out::add);
        consumer.accept(new Frame.Text("PRE]Q1"));
        consumer.accept(new Frame.Overlong(999, 256));
        consumer.accept(new Frame.Text("PRE" + CARD));
        assertEquals(List.of(new Frame.Overlong(999, 256), new Frame.Text(CARD)), out);
    }

    @Test
    void escapesInConfiguredAffixes() {
        assertEquals("\u0002", Affixes.unescape("\\x02"));
        assertEquals("a\tb\r\n\\", Affixes.unescape("a\\tb\\r\\n\\\\"));
        assertNull(Affixes.unescape("\\x0"));
        assertNull(Affixes.unescape("\\xZZ"));
        assertNull(Affixes.unescape("\\q"));
        assertNull(Affixes.unescape("trailing\\"));
    }
}
