package app.sevenstamp.autopilot.gateway.outbox;

/**
 * The outbox at a glance, for the log and the device status.
 *
 * @param backlog     events stored and not yet acknowledged by the sink
 * @param fileBytes   size of the database file
 * @param usableBytes free space on its file system ({@code Long.MAX_VALUE} when unknown)
 * @param health      the alarm state
 */
public record OutboxStatus(long backlog, long fileBytes, long usableBytes, OutboxHealth health) {
}
