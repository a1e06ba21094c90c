package app.sevenstamp.autopilot.sink.console;

import app.sevenstamp.autopilot.sink.web.Access;
import java.util.Locale;

/** A console account's role; what each may do is the route's {@link Access}. */
enum Role {
    /** Everything, on every location; creates the other accounts. */
    OWNER(Access.OWNER),
    /** Cards, vouchers and rules of their locations. */
    MANAGER(Access.MANAGER),
    /** The counter page only. */
    STAFF(Access.STAFF);

    private final Access access;

    Role(Access access) {
        this.access = access;
    }

    public Access access() {
        return access;
    }

    public String label() {
        return name().toLowerCase(Locale.ROOT);
    }

    /** {@code owner}, {@code manager} or {@code staff}. */
    public static Role parse(String text) {
        for (Role r : values()) {
            if (r.label().equals(text)) {
                return r;
            }
        }
        throw new IllegalArgumentException("role: '" + text + "' is not allowed; allowed: owner, manager, staff");
    }
}
