package app.sevenstamp.autopilot.gateway.scan;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import org.junit.jupiter.api.Test;

class EventSizeTest {
    @Test
    void theJvmArchitectureDecides() {
        assertEquals(EventSize.BYTES_24, EventSize.forArch("aarch64", ""));
        assertEquals(EventSize.BYTES_24, EventSize.forArch("amd64", ""));
        assertEquals(EventSize.BYTES_16, EventSize.forArch("arm", ""));
        assertEquals(EventSize.BYTES_16, EventSize.forArch("i386", ""));
        assertEquals(EventSize.BYTES_16, EventSize.forArch("aarch64", "32"), "the data model wins when set");
        assertEquals(EventSize.BYTES_24, EventSize.forArch("amd64", "64"));
    }

    @Test
    void configuredValues() {
        assertEquals(EventSize.BYTES_16, EventSize.parse("16"));
        assertEquals(EventSize.BYTES_24, EventSize.parse("24"));
        assertEquals(EventSize.forThisJvm(), EventSize.parse("AUTO"));
        assertNull(EventSize.parse("32"));
    }
}
