package app.sevenstamp.autopilot.gateway.feedback;

/**
 * What the counter is told. Staff must tell these apart by ear in a loud shop: one beep means stamped,
 * anything else sounds different. The console prints the constant's name as the first word of a line.
 */
public enum Signal {
    /** Stored durably and the uplink is connected. */
    ACCEPTED,
    /** Stored durably; the uplink is down, the stamp goes out later. Still a success for the customer. */
    ACCEPTED_OFFLINE,
    /** The sink answered within a second that this stamp completed a card. */
    REWARD_DUE,
    /** Not a stamp: the reason is in the details. */
    REJECTED,
    /** The scanner went away (unplugged, failed); the box retries by itself. */
    SCANNER_LOST,
    /** A scan could not be stored; the customer must not walk off believing it counted. */
    STORAGE_FAULT,
    /**
     * For staff, not the customer: the outbox passed its near-full threshold (the scan itself was stored).
     * Given once when the alarm starts; the uplink or the disk needs attention before scans are refused.
     */
    STORAGE_NEAR_FULL
}
