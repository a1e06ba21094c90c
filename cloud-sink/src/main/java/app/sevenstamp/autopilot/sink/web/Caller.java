package app.sevenstamp.autopilot.sink.web;

import java.util.Objects;
import java.util.Set;

/**
 * Who sent a request, as the authentication filter ({@link Credentials}) found out: nobody in
 * particular, the operator's scripts (the admin bearer token), the till of one location (its POS
 * key), or a person signed in to the console (their session cookie).
 *
 * @param location  the POS location, for {@link Access#POS}; null otherwise
 * @param operator  the signed-in person's name, for a console session; null otherwise
 * @param locations the locations a manager may act on (empty: all, for an owner; none for others)
 * @param csrf      the session's CSRF token, which every state-changing request of that session must carry
 */
public record Caller(Access access, String location, String operator, Set<String> locations, String csrf) {
    static final Caller ANYONE = new Caller(Access.PUBLIC, null, null, Set.of(), null);
    static final Caller OPERATOR = new Caller(Access.ADMIN, null, null, Set.of(), null);

    public Caller {
        Objects.requireNonNull(access, "access");
        locations = Set.copyOf(locations);
    }

    static Caller till(String location) {
        return new Caller(Access.POS, location, null, Set.of(), null);
    }

    /** A console session's caller. */
    public static Caller session(Access role, String operator, Set<String> locations, String csrf) {
        return new Caller(role, null, Objects.requireNonNull(operator, "operator"), locations,
                Objects.requireNonNull(csrf, "csrf"));
    }

    /** Signed in through the console (a cookie), as opposed to a bearer key. */
    public boolean viaSession() {
        return operator != null;
    }

    /** Who to name in the ledger and the audit log: the person, or "admin" for the bearer token. */
    public String actor() {
        return operator != null ? operator : location != null ? "pos-" + location : "admin";
    }

    /** Whether this caller may act on a location: owners and the bearer token everywhere, managers on theirs. */
    public boolean mayActAt(String location) {
        return access == Access.ADMIN || access == Access.OWNER || location != null && locations.contains(location);
    }
}
