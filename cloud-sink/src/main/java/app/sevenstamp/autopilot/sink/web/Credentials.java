package app.sevenstamp.autopilot.sink.web;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;

/**
 * The one authentication filter: who an {@code Authorization: Bearer ...} header belongs to (every
 * key is compared, in constant time, so the time of an answer tells nothing about which key came
 * close), or whose console session a cookie is.
 */
public final class Credentials {
    private final byte[] admin;
    private final Map<String, byte[]> tills = new TreeMap<>();
    private volatile SessionLookup sessions = SessionLookup.NONE;

    /**
     * @param adminToken the operator's token
     * @param posKeys location -> that till's API key
     */
    public Credentials(String adminToken, Map<String, String> posKeys) {
        this.admin = bearer(Objects.requireNonNull(adminToken, "adminToken"));
        posKeys.forEach((location, key) -> tills.put(location, bearer(key)));
    }

    /** Console sessions from now on (cookies), beside the bearer keys. */
    public void sessions(SessionLookup lookup) {
        sessions = Objects.requireNonNull(lookup, "lookup");
    }

    /** A bearer key wins over a cookie: scripts send the one, browsers the other. */
    Caller identify(String authorization, String sessionCookie) {
        if (authorization == null) {
            return sessionCookie == null ? Caller.ANYONE : sessions.caller(sessionCookie).orElse(Caller.ANYONE);
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
