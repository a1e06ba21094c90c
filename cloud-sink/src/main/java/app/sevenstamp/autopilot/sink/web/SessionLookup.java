package app.sevenstamp.autopilot.sink.web;

import java.util.Optional;

/** The console's sessions, as the authentication filter asks for them: a cookie's value to its caller. */
public interface SessionLookup {
    /** The name of the session cookie. */
    String COOKIE = "7s_session";

    /** The live session's caller; empty for an unknown, expired or ended session. */
    Optional<Caller> caller(String cookieValue);

    /** No console: every cookie is unknown. */
    SessionLookup NONE = cookie -> Optional.empty();
}
