package app.sevenstamp.autopilot.sink.fleet;

/** Publishes at QoS 1 on the fleet's MQTT connection, without waiting for the broker's PUBACK. */
@FunctionalInterface
interface FleetPublisher {
    /** @throws IllegalStateException the client refused it (not connected, too many in flight) */
    void publish(String topic, byte[] payload, boolean retained);
}
