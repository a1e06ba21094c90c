package app.sevenstamp.autopilot.sink.web;

/** What a route needs from its caller; the {@link Router} checks it before the route runs. */
public enum Access {
    /** Anyone: health, the customer's card, voucher images, the join page. */
    PUBLIC,
    /** The operator's scripts: {@code Authorization: Bearer <admin token>}, or an owner's console session. */
    ADMIN,
    /** A till: {@code Authorization: Bearer <pos.<location>.apiKey>}; the route learns the location. */
    POS,
    /** A console session of an owner: everything. */
    OWNER,
    /** A console session of a manager (or owner): cards, vouchers and rules of their locations. */
    MANAGER,
    /** A console session of staff (or anyone above): the counter page. */
    STAFF;

    /** Whether a route that needs this access admits the caller. */
    boolean admits(Caller caller) {
        Access has = caller.access();
        return switch (this) {
            case PUBLIC -> true;
            case POS -> has == POS;
            case ADMIN -> has == ADMIN || has == OWNER;
            case OWNER -> has == OWNER;
            case MANAGER -> has == OWNER || has == MANAGER;
            case STAFF -> has == OWNER || has == MANAGER || has == STAFF;
        };
    }

    /** A console role, whose missing session sends a browser to the login page. */
    boolean console() {
        return this == OWNER || this == MANAGER || this == STAFF;
    }
}
