package app.sevenstamp.autopilot.sink.fleet;

import app.sevenstamp.autopilot.protocol.Topics;
import io.moquette.broker.security.IAuthenticator;
import io.moquette.broker.security.IAuthorizatorPolicy;
import io.moquette.broker.subscriptions.Topic;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.ConcurrentHashMap;
import org.tinylog.Logger;

/**
 * Credentials and ACLs for the embedded Moquette broker. Moquette asks the authenticator only when a
 * client sends a user name, so the broker runs with {@code allow_anonymous=false} when this is on.
 *
 * <p>Three kinds of user: the sink itself (its configured user name: everything under the prefix),
 * the shared provisioning account (publish requests, read responses), and each device (its own topics).
 *
 * <p>Each kind is also bound to its client ids, checked at CONNECT before Moquette looks for a session
 * to take over: MQTT ends the session of whoever holds a client id another client presents, and the
 * provisioning password is public. The sink's login connects only with the sink's client ids
 * ({@code mqtt.clientId} and {@code mqtt.clientId-...}: ingest, {@code -fleet}, {@code -redeem}, an
 * operator's observer), which nobody else may present; the provisioning account only with
 * {@code prov-...}; a device only with its device id.
 */
public final class EmbeddedAccess implements BrokerAccess, IAuthenticator, IAuthorizatorPolicy {
    /** The client ids the provisioning account may use; the gateway's Provisioner picks {@code prov-<nonce>}. */
    public static final String PROVISION_CLIENT_PREFIX = "prov-";
    private final Topics topics;
    private final String sinkUser;
    private final String sinkPassword;
    private final String sinkClientId;
    private final String provisionUser;
    private final String provisionPassword;
    /** device id (= user name) to password hash; devices are also bound to their client id. */
    private final Map<String, String> devices = new ConcurrentHashMap<>();
    /** Ends a client's session on the broker; set once when the broker exists (it is built after this). */
    private volatile java.util.function.Consumer<String> disconnect = clientId -> { };

    /** @param sinkClientId {@code mqtt.clientId}: the sink's ingest client, and the stem of its other clients' ids */
    public EmbeddedAccess(Topics topics, String sinkUser, String sinkPassword, String sinkClientId,
            String provisionUser, String provisionPassword, Map<String, String> knownDevices) {
        this.topics = topics;
        this.sinkUser = Objects.requireNonNull(sinkUser, "sinkUser");
        this.sinkPassword = sinkPassword == null ? "" : sinkPassword;
        this.sinkClientId = Objects.requireNonNull(sinkClientId, "sinkClientId");
        this.provisionUser = provisionUser;
        this.provisionPassword = provisionPassword;
        devices.putAll(knownDevices);
    }

    @Override
    public void grant(String deviceId, String password) {
        devices.put(deviceId, Passwords.hash(password, new java.security.SecureRandom()));
    }

    /** Called once at wiring, after the embedded broker started: how {@link #revoke} ends a session. */
    public void disconnectWith(java.util.function.Consumer<String> disconnect) {
        this.disconnect = Objects.requireNonNull(disconnect, "disconnect");
    }

    /** Forgets the password first, so that neither a reconnect nor the current session's next publish is allowed. */
    @Override
    public void revoke(String deviceId) {
        devices.remove(deviceId);
        disconnect.accept(deviceId);
    }

    @Override
    public boolean checkValid(String clientId, String username, byte[] password) {
        String pw = password == null ? "" : new String(password, java.nio.charset.StandardCharsets.UTF_8);
        boolean ok;
        if (sinkUser.equals(username)) {
            ok = isSinkClientId(clientId) && java.security.MessageDigest.isEqual(
                    sinkPassword.getBytes(java.nio.charset.StandardCharsets.UTF_8),
                    pw.getBytes(java.nio.charset.StandardCharsets.UTF_8));
        } else if (provisionUser.equals(username)) {
            ok = clientId != null && clientId.startsWith(PROVISION_CLIENT_PREFIX) && provisionPassword.equals(pw);
        } else {
            // refused even with the right password, so that a device named like them could not take over
            // a box provisioning or the sink (FleetService.createClaim refuses locations named prov...)
            ok = username != null && username.equals(clientId) && !clientId.startsWith(PROVISION_CLIENT_PREFIX)
                    && !isSinkClientId(clientId) && Passwords.matches(pw, devices.get(username));
        }
        if (!ok) {
            Logger.info("embedded broker refused client {} user {}", clientId, username);
        }
        return ok;
    }

    private boolean isSinkClientId(String clientId) {
        return clientId != null && (clientId.equals(sinkClientId) || clientId.startsWith(sinkClientId + "-"));
    }

    @Override
    public boolean canWrite(Topic topic, String user, String client) {
        String t = topic.toString();
        if (sinkUser.equals(user)) {
            return t.startsWith(topics.prefix() + "/");
        }
        if (provisionUser.equals(user)) {
            return topics.nonceOf(t).isPresent();
        }
        return user != null && user.equals(client) && devices.containsKey(user)
                && BrokerAccess.publishable(topics, user).contains(t);
    }

    @Override
    public boolean canRead(Topic topic, String user, String client) {
        String t = topic.toString();
        if (sinkUser.equals(user)) {
            return t.startsWith(topics.prefix() + "/");
        }
        if (provisionUser.equals(user)) {
            String head = topics.prefix() + "/provision/resp/";
            return t.startsWith(head) && t.length() > head.length() && !t.substring(head.length()).contains("/");
        }
        return user != null && user.equals(client) && devices.containsKey(user)
                && BrokerAccess.readable(topics, user).contains(t);
    }
}
