package app.sevenstamp.autopilot.protocol;

import java.util.Objects;

/**
 * An unprovisioned gateway asks for its identity. Published on {@code PREFIX/provision/req/{nonce}}
 * by the shared provisioning account, which may publish there but not subscribe there: only the sink
 * reads requests, so the claim token and the response key stay between the box and the sink.
 *
 * @param schema      wire schema version
 * @param nonce       random per attempt; the same as in the topic
 * @param claimToken  the claim the installer put on the SD card
 * @param hardwareId  the box's hardware identity (Pi serial number, else /etc/machine-id)
 * @param responseKey base64url of 32 random bytes: the AES-256-GCM key the sink seals the answer with,
 *                    because every holder of the provisioning account may read the response topics
 * @param version     the gateway software version
 */
public record ProvisionRequest(int schema, String nonce, String claimToken, String hardwareId, String responseKey,
        String version) {

    public ProvisionRequest {
        Objects.requireNonNull(nonce, "nonce");
        Objects.requireNonNull(claimToken, "claimToken");
        Objects.requireNonNull(hardwareId, "hardwareId");
        Objects.requireNonNull(responseKey, "responseKey");
    }

    /**
     * The one client id the provisioning account connects with. Mosquitto's dynamic security cannot
     * match a login's client ids by prefix, and MQTT ends the session of any client whose id another
     * presents; so the sink binds the public account to this id, and it can take over no one else.
     * Boxes provisioning at the same moment take it from each other: the Provisioner tries again.
     */
    public static String clientId(String provisionUsername) {
        return "prov-" + provisionUsername;
    }

    /** Never prints the claim token or the key. */
    @Override
    public String toString() {
        return "ProvisionRequest[nonce=" + nonce + ", hardwareId=" + hardwareId + ", version=" + version + "]";
    }
}
