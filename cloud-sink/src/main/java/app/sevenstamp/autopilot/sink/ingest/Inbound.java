package app.sevenstamp.autopilot.sink.ingest;

/**
 * One MQTT message handed from Paho's callback thread to the ingest thread.
 *
 * @param messageId  the MQTT packet id, for the PUBACK once the sink is done with the message
 * @param qos        the QoS it arrived with
 * @param connection which connection it arrived on: a PUBACK is sent only on that same connection
 * @param arrivedNanos {@link System#nanoTime} when Paho handed it over, for the answer's latency
 */
record Inbound(String topic, byte[] payload, int messageId, int qos, long connection, long arrivedNanos) {
}
