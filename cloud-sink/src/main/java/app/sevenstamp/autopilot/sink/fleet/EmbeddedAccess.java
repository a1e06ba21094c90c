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
 */
public final class EmbeddedAccess implements BrokerAccess, IAuthenticator, IAuthorizatorPolicy {
    private final Topics topics;
    private final String sinkUser;
    private final String sinkPassword;
    private final String provisionUser;
    private final String provisionPassword;
    /** device id (= user name) to password hash; devices are also bound to their client id. */
    private final Map<String, String> devices = new ConcurrentHashMap<>();
    /** Ends a client's session on the broker; set once when the broker exists (it is built after this). */
    private volatile java.util.function.Consumer<String> disconnect = clientId -> { };

    public EmbeddedAccess(Topics topics, String sinkUser, String sinkPassword, String provisionUser,
            String provisionPassword, Map<String, String> knownDevices) {
        this.topics = topics;
        this.sinkUser = Objects.requireNonNull(sinkUser, "sinkUser");
        this.sinkPassword = sinkPassword == null ? "" : sinkPassword;
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
            ok = java.security.MessageDigest.isEqual(sinkPassword.getBytes(java.nio.charset.StandardCharsets.UTF_8),
                    pw.getBytes(java.nio.charset.StandardCharsets.UTF_8));
        } else if (provisionUser.equals(username)) {
            ok = provisionPassword.equals(pw);
        } else {
            ok = username != null && username.equals(clientId) && Passwords.matches(pw, devices.get(username));
        }
        if (!ok) {
            Logger.info("embedded broker refused client {} user {}", clientId, username);
        }
        return ok;
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
