package app.sevenstamp.autopilot.sink.web;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;

/**
 * The one authentication filter: who an {@code Authorization: Bearer ...} header belongs to. Every
 * key is compared, in constant time, so the time of an answer tells nothing about which key came close.
 */
public final class Credentials {
    private final byte[] admin;
    private final Map<String, byte[]> tills = new TreeMap<>();

    /**
     * @param adminToken the operator's token
     * @param posKeys location -> that till's API key
     */
    public Credentials(String adminToken, Map<String, String> posKeys) {
        this.admin = bearer(Objects.requireNonNull(adminToken, "adminToken"));
        posKeys.forEach((location, key) -> tills.put(location, bearer(key)));
    }

    Caller identify(String authorization) {
        if (authorization == null) {
            return Caller.ANYONE;
        }
        byte[] given = authorization.getBytes(StandardCharsets.UTF_8);
        boolean operator = MessageDigest.isEqual(admin, given);
        String location = null;
        for (Map.Entry<String, byte[]> e : tills.entrySet()) {
            if (MessageDigest.isEqual(e.getValue(), given)) {
                location = e.getKey();
            }
        }
        return operator ? Caller.OPERATOR : location != null ? Caller.till(location) : Caller.ANYONE;
    }

    /** Whether any till has a key: without one, the POS routes are not served at all. */
    public boolean anyTill() {
        return !tills.isEmpty();
    }

    private static byte[] bearer(String token) {
        return ("Bearer " + token).getBytes(StandardCharsets.UTF_8);
    }
}
