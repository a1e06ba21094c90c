package app.sevenstamp.autopilot.sink.web;

/** What a route needs from its caller; the {@link Router} checks it before the route runs. */
public enum Access {
    /** Anyone: health, the customer's card, voucher images. */
    PUBLIC,
    /** The operator: {@code Authorization: Bearer <admin token>}. */
    ADMIN,
    /** A till: {@code Authorization: Bearer <pos.<location>.apiKey>}; the route learns the location. */
    POS
}
