package app.sevenstamp.autopilot.gateway.outbox;

/** The outbox's alarm state, for the log, the feedback and (later) the device status. */
public enum OutboxHealth {
    /** Room to spare. */
    OK,
    /** Past {@code outbox.nearFullPercent} of a limit, or the disk is nearly out of space: stamps still stored. */
    NEAR_FULL,
    /** A limit is reached: new scans are refused with STORAGE_FAULT until the backlog drains. */
    FULL
}
