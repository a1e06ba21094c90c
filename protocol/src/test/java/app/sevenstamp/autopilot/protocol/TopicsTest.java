package app.sevenstamp.autopilot.protocol;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.Optional;
import org.junit.jupiter.api.Test;

class TopicsTest {
    private final Topics topics = new Topics(Topics.DEFAULT_PREFIX);

    @Test
    void deviceTopicsFollowTheContract() {
        assertEquals("7stamp/v1/gw/counter-1/stamps", topics.stamps("counter-1"));
        assertEquals("7stamp/v1/gw/counter-1/acks", topics.acks("counter-1"));
        assertEquals("7stamp/v1/gw/counter-1/status", topics.status("counter-1"));
        assertEquals("7stamp/v1/gw/counter-1/config", topics.config("counter-1"));
        assertEquals("7stamp/v1/gw/counter-1/cmd", topics.commands("counter-1"));
        assertEquals("7stamp/v1/gw/counter-1/redeem", topics.redeem("counter-1"));
        assertEquals("7stamp/v1/gw/counter-1/redeemack", topics.redeemAnswers("counter-1"));
        assertEquals("7stamp/v1/gw/+/redeem", topics.allRedeems());
        assertEquals("7stamp/v1/rules", topics.rules());
        assertEquals("7stamp/v1/gw/+/stamps", topics.allStamps());
    }

    @Test
    void deviceIsReadBackFromATopic() {
        assertEquals(Optional.of("counter-1"), topics.deviceOf("7stamp/v1/gw/counter-1/stamps"));
        assertEquals(Optional.empty(), topics.deviceOf("other/gw/counter-1/stamps"));
        assertEquals(Optional.empty(), topics.deviceOf("7stamp/v1/gw/counter-1"));
    }

    @Test
    void wildcardsCannotHideInDeviceIdsOrPrefixes() {
        assertThrows(IllegalArgumentException.class, () -> topics.stamps("a/b"));
        assertThrows(IllegalArgumentException.class, () -> topics.stamps("+"));
        assertThrows(IllegalArgumentException.class, () -> new Topics("x/#"));
        assertThrows(IllegalArgumentException.class, () -> new Topics("/x"));
    }
}
