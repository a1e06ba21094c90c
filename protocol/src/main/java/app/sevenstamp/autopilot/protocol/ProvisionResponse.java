package app.sevenstamp.autopilot.protocol;

import java.util.Objects;

/**
 * The sink's answer on {@code PREFIX/provision/resp/{nonce}}. A refusal is in clear; a grant travels
 * sealed ({@link ProvisionSeal}) with the request's response key.
 *
 * @param schema wire schema version
 * @param nonce  the request's nonce
 * @param ok     whether the claim was accepted
 * @param error  why not (expired, used up, unknown claim...); null when ok
 * @param sealed base64url of AES-256-GCM (12-byte IV first) over the JSON of a {@link ProvisionGrant}; null unless ok
 */
public record ProvisionResponse(int schema, String nonce, boolean ok, String error, String sealed) {

    public ProvisionResponse {
        Objects.requireNonNull(nonce, "nonce");
        if (ok != (sealed != null) || ok == (error != null)) {
            throw new IllegalArgumentException("an accepted response carries a sealed grant, a refused one an error");
        }
    }
}
