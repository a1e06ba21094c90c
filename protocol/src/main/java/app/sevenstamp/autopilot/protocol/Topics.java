package app.sevenstamp.autopilot.protocol;

import java.util.Objects;
import java.util.Optional;
import java.util.regex.Pattern;

/**
 * MQTT topic layout of wire contract v1. Every topic lives under a configurable prefix
 * (default {@value #DEFAULT_PREFIX}) so that several tenants or environments can share a broker.
 */
public final class Topics {
    public static final String DEFAULT_PREFIX = "7stamp/v1";

    /** Device ids end up in topic names, so they may not contain MQTT wildcards or separators. */
    public static final Pattern DEVICE_ID = Pattern.compile("[A-Za-z0-9][A-Za-z0-9_.-]{0,63}");

    private final String prefix;

    public Topics(String prefix) {
        Objects.requireNonNull(prefix, "prefix");
        if (prefix.isEmpty() || prefix.startsWith("/") || prefix.endsWith("/")
                || prefix.contains("+") || prefix.contains("#")) {
            throw new IllegalArgumentException("topic prefix '" + prefix
                    + "' must be non-empty, without leading or trailing '/' and without wildcards");
        }
        this.prefix = prefix;
    }

    public String prefix() {
        return prefix;
    }

    public static void requireDeviceId(String deviceId) {
        if (deviceId == null || !DEVICE_ID.matcher(deviceId).matches()) {
            throw new IllegalArgumentException("device id '" + deviceId + "' must match " + DEVICE_ID.pattern());
        }
    }

    /** Gateway to sink, QoS 1: stamp events. */
    public String stamps(String deviceId) {
        return device(deviceId, "stamps");
    }

    /** Sink to gateway, QoS 1: one acknowledgement per stamp event. */
    public String acks(String deviceId) {
        return device(deviceId, "acks");
    }

    /** Gateway, retained: heartbeat; the last will sets it offline. */
    public String status(String deviceId) {
        return device(deviceId, "status");
    }

    /** Sink, retained: desired configuration. */
    public String config(String deviceId) {
        return device(deviceId, "config");
    }

    /** Sink to gateway: remote commands. */
    public String commands(String deviceId) {
        return device(deviceId, "cmd");
    }

    /** Gateway to sink, QoS 1: the result of one command ({@code CommandAck}). */
    public String commandAcks(String deviceId) {
        return device(deviceId, "cmdack");
    }

    /** Gateway to sink, QoS 1: a {@code RedeemRequest} for a scanned voucher (online only). */
    public String redeem(String deviceId) {
        return device(deviceId, "redeem");
    }

    /** Sink to gateway, QoS 1: the {@code RedeemAnswer} to each redeem request. */
    public String redeemAnswers(String deviceId) {
        return device(deviceId, "redeemack");
    }

    /** What the sink subscribes to for redeem requests of every device. */
    public String allRedeems() {
        return prefix + "/gw/+/redeem";
    }

    /** Sink, retained: {@code CounterRules}, the same for every box. */
    public String rules() {
        return prefix + "/rules";
    }

    /** What the sink subscribes to for command results of every device. */
    public String allCommandAcks() {
        return prefix + "/gw/+/cmdack";
    }

    /** Unprovisioned gateway to sink, QoS 1: a {@code ProvisionRequest}; the nonce is random per attempt. */
    public String provisionRequest(String nonce) {
        requireNonce(nonce);
        return prefix + "/provision/req/" + nonce;
    }

    /** Sink to the unprovisioned gateway, QoS 1: the {@code ProvisionResponse} to the request with that nonce. */
    public String provisionResponse(String nonce) {
        requireNonce(nonce);
        return prefix + "/provision/resp/" + nonce;
    }

    /** What the sink subscribes to for provisioning requests. */
    public String allProvisionRequests() {
        return prefix + "/provision/req/+";
    }

    /** The nonce of a provisioning request topic, if the topic has that form. */
    public Optional<String> nonceOf(String topic) {
        String head = prefix + "/provision/req/";
        if (topic == null || !topic.startsWith(head)) {
            return Optional.empty();
        }
        String nonce = topic.substring(head.length());
        return NONCE.matcher(nonce).matches() ? Optional.of(nonce) : Optional.empty();
    }

    /** A provisioning nonce: 16..64 of base64url characters (random, at least 96 bits). */
    public static final Pattern NONCE = Pattern.compile("[A-Za-z0-9_-]{16,64}");

    private static void requireNonce(String nonce) {
        if (nonce == null || !NONCE.matcher(nonce).matches()) {
            throw new IllegalArgumentException("nonce '" + nonce + "' must match " + NONCE.pattern());
        }
    }

    /** What the sink subscribes to for stamps of every device. */
    public String allStamps() {
        return prefix + "/gw/+/stamps";
    }

    /** What the sink subscribes to for the status of every device. */
    public String allStatus() {
        return prefix + "/gw/+/status";
    }

    /** The device id in a topic of the form {@code PREFIX/gw/ID/...}, if the topic has that form. */
    public Optional<String> deviceOf(String topic) {
        String head = prefix + "/gw/";
        if (topic == null || !topic.startsWith(head)) {
            return Optional.empty();
        }
        int end = topic.indexOf('/', head.length());
        if (end < 0) {
            return Optional.empty();
        }
        String id = topic.substring(head.length(), end);
        return DEVICE_ID.matcher(id).matches() ? Optional.of(id) : Optional.empty();
    }

    private String device(String deviceId, String leaf) {
        requireDeviceId(deviceId);
        return prefix + "/gw/" + deviceId + "/" + leaf;
    }
}
