package app.sevenstamp.autopilot.sink.web;

/**
 * Who sent a request, as the authentication filter ({@link Credentials}) found out: nobody in
 * particular, the operator (the admin bearer token), or the till of one location (its POS key).
 *
 * @param location the POS location, for {@link Access#POS}; null otherwise
 */
public record Caller(Access access, String location) {
    static final Caller ANYONE = new Caller(Access.PUBLIC, null);
    static final Caller OPERATOR = new Caller(Access.ADMIN, null);

    static Caller till(String location) {
        return new Caller(Access.POS, location);
    }
}
