package app.sevenstamp.autopilot.sink.ingest;

import app.sevenstamp.autopilot.protocol.StampAck;

/** An acknowledgement to publish, once the transaction that decided it is on the disk. */
public record Outbound(String topic, byte[] payload, StampAck ack) {
}
