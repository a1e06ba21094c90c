package app.sevenstamp.autopilot.gateway.config;

import app.sevenstamp.autopilot.protocol.Topics;
import app.sevenstamp.autopilot.protocol.support.ConfigException;
import app.sevenstamp.autopilot.protocol.support.MqttTls;
import app.sevenstamp.autopilot.protocol.support.Settings;
import java.net.URI;
import java.net.URISyntaxException;
import java.time.Duration;
import java.util.Locale;
import java.util.Objects;
import java.util.regex.Pattern;

/**
 * The {@code mqtt.*} keys: the broker and the uplink's timing.
 *
 * @param username null for anonymous
 * @param password null when none
 * @param tls      {@link MqttTls#NONE} when unset
 */
public record MqttSettings(String url, String topicPrefix, String clientId, String username, String password,
        Duration keepAlive, Duration connectTimeout, int inflight, Duration reconnectMin, Duration reconnectMax, MqttTls tls) {

    public MqttSettings {
        Objects.requireNonNull(tls, "tls");
        if (connectTimeout.toSeconds() < 1 || !wholeSeconds(connectTimeout)) {
            throw new IllegalArgumentException("connectTimeout: " + connectTimeout + " is not a whole number of seconds");
        }
    }


    /** Never prints the password. */
    @Override
    public String toString() {
        return "MqttSettings[url=" + url + ", topicPrefix=" + topicPrefix + ", clientId=" + clientId
                + ", username=" + username + ", password=" + (password == null ? "none" : "***")
                + ", keepAlive=" + keepAlive + ", connectTimeout=" + connectTimeout + ", inflight=" + inflight + ", reconnectMin=" + reconnectMin
                + ", reconnectMax=" + reconnectMax + ", tls=" + tls.describe() + "]";
    }

    private static final Pattern MQTT_URL = Pattern.compile("(tcp|ssl)://[^/:?#\\s]+(:\\d{1,5})?");

    /** Reads the {@code mqtt.*} keys; the client id defaults to the device id. */
    static MqttSettings read(Settings s, String deviceId) {
        String url = s.string(GatewayKeys.MQTT_URL);
        if (!MQTT_URL.matcher(url.toLowerCase(Locale.ROOT)).matches() || !validPort(url)) {
            throw Settings.bad("mqtt.url", url, "tcp://HOST:PORT or ssl://HOST:PORT");
        }
        String prefix = s.string(GatewayKeys.MQTT_TOPIC_PREFIX);
        try {
            new Topics(prefix);
        } catch (IllegalArgumentException e) {
            throw Settings.bad("mqtt.topicPrefix", prefix, "a non-empty prefix without leading or trailing '/' and without '+' or '#'");
        }
        String clientId = s.matching(GatewayKeys.MQTT_CLIENT_ID.name(), deviceId, Topics.DEVICE_ID, GatewayConfig.ID_RULE);
        String username = s.string(GatewayKeys.MQTT_USERNAME);
        String password = s.string(GatewayKeys.MQTT_PASSWORD);
        if (password != null && username == null) {
            throw new ConfigException("mqtt.password: set without mqtt.username; MQTT sends a password only together with a user name");
        }
        Duration keepAlive = s.duration(GatewayKeys.MQTT_KEEP_ALIVE);
        Duration connectTimeout = s.duration(GatewayKeys.MQTT_CONNECT_TIMEOUT);
        if (!wholeSeconds(connectTimeout)) {
            throw Settings.bad("mqtt.connectTimeout", s.string(GatewayKeys.MQTT_CONNECT_TIMEOUT), "whole seconds from 1s to 2m");
        }
        int inflight = s.integer(GatewayKeys.MQTT_INFLIGHT);
        Duration min = s.duration(GatewayKeys.MQTT_RECONNECT_MIN);
        Duration max = s.duration(GatewayKeys.MQTT_RECONNECT_MAX);
        if (max.compareTo(min) < 0) {
            throw Settings.bad("mqtt.reconnect.max", s.string("mqtt.reconnect.max", null),
                    "at least mqtt.reconnect.min (" + s.string(GatewayKeys.MQTT_RECONNECT_MIN) + ")");
        }
        MqttTls tls = MqttTls.from(s, "mqtt.tls.", "mqtt.url", url);
        return new MqttSettings(url, prefix, clientId, username, password, keepAlive, connectTimeout, inflight, min, max, tls);
    }

    /** Paho takes the connection timeout in whole seconds. */
    private static boolean wholeSeconds(Duration d) {
        return d.toNanos() % 1_000_000_000L == 0;
    }

    private static boolean validPort(String url) {
        try {
            int port = new URI(url).getPort();
            return port == -1 || (port >= 1 && port <= 65_535);
        } catch (URISyntaxException e) {
            return false;
        }
    }
}
