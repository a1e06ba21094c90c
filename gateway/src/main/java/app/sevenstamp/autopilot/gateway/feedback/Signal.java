package app.sevenstamp.autopilot.gateway.feedback;

import app.sevenstamp.autopilot.protocol.RejectReason;

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
    /** Not a stamp: not one of our cards, a bad signature, not a card code at all. The reason is in the details. */
    REJECTED,
    /** Not a stamp: this card was stamped too recently (cooldown) or already. Nothing for staff to do. */
    TOO_SOON,
    /** The scanner went away (unplugged, failed); the box retries by itself. */
    SCANNER_LOST,
    /** A scan could not be stored; the customer must not walk off believing it counted. */
    STORAGE_FAULT,
    /**
     * For staff, not the customer: the outbox passed its near-full threshold (the scan itself was stored).
     * Given once when the alarm starts; the uplink or the disk needs attention before scans are refused.
     */
    STORAGE_NEAR_FULL,
    /**
     * A scanned voucher was redeemed by the sink just now: hand over the reward. Not a stamp sound, so staff
     * do not mistake a stamp for a reward. A refused voucher (expired, used, unknown, damaged) is REJECTED.
     */
    VOUCHER_OK,
    /**
     * A scanned voucher could not be checked (the box is offline, or the sink did not answer in time): nothing
     * was redeemed, the customer keeps the voucher and can try again later. Neither yes nor no.
     */
    CANNOT_CHECK;

    /**
     * A refused scan: "too soon" sounds gentler than "not our card", which asks staff to look. A daily cap
     * reached is "too soon" too: a genuine card, nothing for staff to check, come back tomorrow.
     */
    public static Signal forReject(RejectReason reason) {
        return reason == RejectReason.TOO_SOON || reason == RejectReason.DAILY_CAP ? TOO_SOON : REJECTED;
    }
}
