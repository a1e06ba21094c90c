package app.sevenstamp.autopilot.sink.config;

/** Where the MQTT broker runs. Written {@code embedded} / {@code external} in the config file. */
public enum BrokerMode {
    /** Moquette inside the sink's JVM: the single-box default, nothing else to install. */
    EMBEDDED,
    /** A broker someone runs (Mosquitto, EMQX, HiveMQ), reached at {@code broker.url}. */
    EXTERNAL
}
