package app.sevenstamp.autopilot.sink.fleet;

import app.sevenstamp.autopilot.protocol.ProvisionRequest;
import app.sevenstamp.autopilot.protocol.Topics;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.BiConsumer;
import org.tinylog.Logger;

/**
 * Mosquitto's dynamic-security plugin, driven over MQTT ({@code $CONTROL/dynamic-security/v1}) by the
 * sink's fleet client, which must log in as the plugin's admin (the user {@code mosquitto_ctrl dynsec
 * init} created). Each device gets a client (user name = client id = device id) with one role,
 * {@code 7stamp-dev-<id>}, whose ACLs name exactly its own topics; the plugin's default denies the rest.
 * The shared provisioning account is bound to the client id {@link ProvisionRequest#clientId}, so the
 * public login cannot present (and take over) the sink's or a device's client id.
 */
public final class DynSecAccess implements BrokerAccess {
    public static final String CONTROL = "$CONTROL/dynamic-security/v1";
    public static final String RESPONSE = CONTROL + "/response";
    static final String SINK_ROLE = "7stamp-sink";
    static final String PROVISION_ROLE = "7stamp-provision";
    private static final Duration WAIT = Duration.ofSeconds(10);
    private static final ObjectMapper JSON = new ObjectMapper();

    private final Topics topics;
    private final BiConsumer<String, byte[]> publish;
    private final Map<String, CompletableFuture<JsonNode>> pending = new ConcurrentHashMap<>();

    /** @param publish sends a QoS 1 message with the fleet client */
    public DynSecAccess(Topics topics, BiConsumer<String, byte[]> publish) {
        this.topics = topics;
        this.publish = publish;
    }

    /**
     * Gives the sink's own user the right to publish under the prefix (the plugin's admin role may only
     * read), and creates the shared provisioning account. Idempotent: "already exists" is fine.
     *
     * <p>The plugin disconnects every session of a user whose roles change, this very client included;
     * so the sink's role is added only when {@code getClient} shows it missing, and then this returns
     * false: the fleet client reconnects and calls again, and the second time finds the role in place.
     *
     * @return true when everything is in place; false when the sink's role was just added (expect a kick)
     */
    public boolean bootstrap(String sinkUser, String provisionUser, String provisionPassword) throws AccessException {
        String p = topics.prefix();
        List<ObjectNode> cmds = new ArrayList<>();
        cmds.add(cmd("createRole").put("rolename", SINK_ROLE));
        cmds.add(acl(SINK_ROLE, "publishClientSend", p + "/#"));
        cmds.add(acl(SINK_ROLE, "subscribePattern", p + "/#"));
        cmds.add(acl(SINK_ROLE, "publishClientReceive", p + "/#"));
        cmds.add(cmd("createRole").put("rolename", PROVISION_ROLE));
        cmds.add(acl(PROVISION_ROLE, "publishClientSend", p + "/provision/req/+"));
        cmds.add(acl(PROVISION_ROLE, "subscribePattern", p + "/provision/resp/+"));
        cmds.add(acl(PROVISION_ROLE, "publishClientReceive", p + "/provision/resp/+"));
        // created once with its role; never changed afterwards, which would disconnect boxes mid-provisioning.
        // Bound to one client id: its password is public, and with any other id it could take over the
        // sink's or a device's session (binding the victims' ids does not stop that in Mosquitto 2.0)
        String provisionId = ProvisionRequest.clientId(provisionUser);
        ObjectNode provision = cmd("createClient").put("username", provisionUser).put("password", provisionPassword)
                .put("clientid", provisionId);
        provision.putArray("roles").addObject().put("rolename", PROVISION_ROLE);
        cmds.add(provision);
        cmds.add(cmd("getClient").put("username", provisionUser));
        cmds.add(cmd("getClient").put("username", sinkUser));
        List<JsonNode> answers = run(cmds);
        String boundId = answers.get(answers.size() - 2).path("data").path("client").path("clientid").asText("");
        if (!provisionId.equals(boundId)) {
            // an account created before the binding: bind it now (this once ends its sessions)
            run(List.of(cmd("setClientId").put("username", provisionUser).put("clientid", provisionId)));
            Logger.info("dynamic security: bound the provisioning account {} to the client id {}", provisionUser,
                    provisionId);
        }
        JsonNode roles = answers.get(answers.size() - 1).path("data").path("client").path("roles");
        for (JsonNode r : roles) {
            if (SINK_ROLE.equals(r.path("rolename").asText())) {
                return true;
            }
        }
        ObjectNode add = cmd("addClientRole").put("username", sinkUser).put("rolename", SINK_ROLE);
        ObjectNode body = JSON.createObjectNode();
        body.putArray("commands").add(add);
        try {
            publish.accept(CONTROL, JSON.writeValueAsBytes(body));
        } catch (java.io.IOException e) {
            throw new AccessException("cannot encode a dynamic-security command", e);
        }
        org.tinylog.Logger.info("dynamic security: gave user {} the role {}; the broker now reconnects its sessions", sinkUser, SINK_ROLE);
        return false;
    }

    @Override
    public void grant(String deviceId, String password) throws AccessException {
        String role = "7stamp-dev-" + deviceId;
        List<ObjectNode> cmds = new ArrayList<>();
        cmds.add(cmd("createRole").put("rolename", role));
        for (String t : BrokerAccess.publishable(topics, deviceId)) {
            cmds.add(acl(role, "publishClientSend", t));
        }
        for (String t : BrokerAccess.readable(topics, deviceId)) {
            cmds.add(acl(role, "subscribeLiteral", t));
            cmds.add(acl(role, "publishClientReceive", t));
        }
        ObjectNode create = cmd("createClient").put("username", deviceId).put("password", password).put("clientid", deviceId);
        create.putArray("roles").addObject().put("rolename", role);
        cmds.add(create);
        // a re-provisioned box: the client exists already, so set its new password (which also ends the old session)
        cmds.add(cmd("setClientPassword").put("username", deviceId).put("password", password));
        run(cmds);
    }

    /** deleteClient also kicks the client's sessions (the plugin does that for a deleted client). */
    @Override
    public void revoke(String deviceId) throws AccessException {
        List<ObjectNode> cmds = new ArrayList<>();
        cmds.add(cmd("deleteClient").put("username", deviceId));
        cmds.add(cmd("deleteRole").put("rolename", "7stamp-dev-" + deviceId));
        run(cmds);
    }

    /** The fleet client received a message on {@link #RESPONSE}. Safe on Paho's callback thread. */
    public void onResponse(byte[] payload) {
        try {
            for (JsonNode r : JSON.readTree(payload).path("responses")) {
                CompletableFuture<JsonNode> f = pending.remove(r.path("correlationData").asText(""));
                if (f != null) {
                    f.complete(r);
                }
            }
        } catch (java.io.IOException e) {
            Logger.warn("unreadable dynamic-security response: {}", e.getMessage());
        }
    }

    private List<JsonNode> run(List<ObjectNode> cmds) throws AccessException {
        List<CompletableFuture<JsonNode>> futures = new ArrayList<>();
        ArrayNode array = JSON.createArrayNode();
        for (ObjectNode c : cmds) {
            String id = UUID.randomUUID().toString();
            c.put("correlationData", id);
            CompletableFuture<JsonNode> f = new CompletableFuture<>();
            pending.put(id, f);
            futures.add(f);
            array.add(c);
        }
        ObjectNode body = JSON.createObjectNode();
        body.set("commands", array);
        try {
            publish.accept(CONTROL, JSON.writeValueAsBytes(body));
            long deadline = System.nanoTime() + WAIT.toNanos();
            List<JsonNode> answers = new ArrayList<>();
            for (int i = 0; i < futures.size(); i++) {
                JsonNode r = futures.get(i).get(Math.max(1, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
                String error = r.path("error").asText(null);
                if (error != null && !error.contains("already") && !error.contains("exists") && !error.contains("not found")) {
                    throw new AccessException("dynamic-security " + cmds.get(i).path("command").asText() + ": " + error, null);
                }
                answers.add(r);
            }
            return answers;
        } catch (TimeoutException e) {
            throw new AccessException("no answer from the broker's dynamic-security plugin within " + WAIT.toSeconds()
                    + " s: is the plugin loaded, and is the sink's mqtt.username its admin?", e);
        } catch (ExecutionException | java.io.IOException | RuntimeException e) {
            throw new AccessException("dynamic-security request failed: " + e.getMessage(), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AccessException("interrupted", e);
        } finally {
            for (ObjectNode c : cmds) {
                pending.remove(c.path("correlationData").asText());
            }
        }
    }

    private static ObjectNode cmd(String name) {
        return JSON.createObjectNode().put("command", name);
    }

    private static ObjectNode acl(String role, String type, String topic) {
        return cmd("addRoleACL").put("rolename", role).put("acltype", type).put("topic", topic).put("allow", true);
    }
}
